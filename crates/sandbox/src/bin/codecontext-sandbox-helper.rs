//! The sandbox helper as a binary of its own, for this crate's tests and benchmarks
//! (the server runs its own binary as the helper).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((first, rest)) if first == codecontext_sandbox::HELPER_ARG => {
            std::process::exit(codecontext_sandbox::helper_main(rest))
        }
        _ => std::process::exit(2),
    }
}
