//! A folder's store and its team backends' configuration, opened once per session; and
//! how the user hears of a backend that is down.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use codecontext_analysis::persist;
use codecontext_store::{Health, Opened, SharedStore, SqliteStore, Store};
use tracing::{debug, info, warn};

use crate::{Level, Notifier, Workspace};

impl Workspace {
    /// The team backends' configuration for a folder (the settings' `storage`, the
    /// environment, `codecontext.toml`, the user's file), read once per session; a wrong
    /// one is reported and nothing is configured.
    pub async fn storage_config(&self, root: &Path) -> codecontext_config::StorageConfig {
        let folder = self.folder(root);
        if let Some(config) = folder.config.get() {
            return config;
        }
        let options = self
            .settings_lock()
            .storage
            .as_ref()
            .map(|storage| serde_json::json!({ "storage": storage }));
        let config = match codecontext_config::load(Some(root), options.as_ref()) {
            Ok(config) => config,
            Err(e) => {
                self.backend_down(
                    "configuration",
                    format!(
                        "codecontext: the configuration is wrong ({e}); using the embedded store"
                    ),
                )
                .await;
                Default::default()
            }
        };
        folder.config.keep(config)
    }

    /// The folder's store, if it is open.
    pub fn store(&self, root: &Path) -> Option<Arc<dyn Store>> {
        self.folder(root).store.get()
    }

    /// The folder's store, if persistence is on and it opens: the embedded one, with the
    /// shared PostgreSQL store in front when one is configured (reached now or later; its
    /// writes wait in the embedded store meanwhile). A store that cannot be opened costs
    /// the warm start and the run history, never the session. Once open, it stays open
    /// until the folder is removed.
    pub async fn open_store(&self, root: &Path) -> Option<Arc<dyn Store>> {
        let folder = self.folder(root);
        if let Some(store) = folder.store.get() {
            return Some(store);
        }
        // One opening at a time; whoever waited finds the store the first one opened.
        let _opening = folder.opening.lock().await;
        if let Some(store) = folder.store.get() {
            return Some(store);
        }
        let settings = self.settings();
        if !settings.persist {
            return None;
        }
        let fingerprint = persist::fingerprint();
        let config = self.storage_config(root).await;
        let home = settings
            .store_home
            .map(PathBuf::from)
            .unwrap_or_else(codecontext_config::store_home);
        if let Err(e) = std::fs::create_dir_all(&home) {
            warn!(
                "cannot create the index store folder {}: {e}; not persisting",
                home.display()
            );
            return None;
        }
        let path = codecontext_store::store_path(&home, root);
        let local = match SqliteStore::open(&path, &fingerprint).await {
            Ok((store, opened)) => {
                match opened {
                    Opened::Rebuilt(aside) => warn!(
                        "index store {} was unusable: moved to {} and rebuilt",
                        path.display(),
                        aside.display()
                    ),
                    Opened::Fresh => info!("index store {} created", path.display()),
                    Opened::Reused => info!("index store {}", path.display()),
                }
                store
            }
            Err(e) => {
                warn!("{e} ({}); indexing without persistence", path.display());
                return None;
            }
        };
        let Some(url) = &config.postgres_url else {
            return Some(folder.store.keep(Arc::new(local)));
        };
        let key = codecontext_store::project_key(root);
        match SharedStore::open(local, &url.value, &key, &fingerprint).await {
            Ok((store, health)) => {
                info!("shared store {} for project {key}", url.shown());
                let shown = url.shown();
                self.watch_backend(
                    "postgres",
                    health,
                    format!("PostgreSQL at {shown} is back; replaying the writes kept meanwhile"),
                    move |why| {
                        format!("codecontext: PostgreSQL at {shown} is unavailable ({why}); using the embedded store, and its writes are kept and replayed when PostgreSQL is back")
                    },
                );
                Some(folder.store.keep(store))
            }
            Err(e) => {
                warn!("{e} ({}); indexing without persistence", path.display());
                None
            }
        }
    }

    /// Follows a backend's health events: says that it is down (`down`, given why),
    /// once per backend and session to the user and in the log each time it goes down,
    /// and `back` in the log when it answers again.
    pub(crate) fn watch_backend(
        &self,
        backend: &'static str,
        mut health: tokio::sync::mpsc::UnboundedReceiver<Health>,
        back: String,
        down: impl Fn(&str) -> String + Send + 'static,
    ) {
        let notifier = self.notifier.clone();
        let told = self.told_down.clone();
        self.spawn(async move {
            let mut is_down = false;
            while let Some(event) = health.recv().await {
                match event {
                    Health::Down(why) if !is_down => {
                        is_down = true;
                        tell_down(&notifier, &told, backend, down(&why)).await;
                    }
                    Health::Down(why) => debug!("{backend} still down: {why}"),
                    Health::Up if is_down => {
                        is_down = false;
                        info!("{back}");
                    }
                    Health::Up => {}
                }
            }
        });
    }
}

/// Says that `backend` is down: in the log, and to the user once per backend and session.
pub(crate) async fn tell_down(
    notifier: &Arc<dyn Notifier>,
    told: &Mutex<HashSet<&'static str>>,
    backend: &'static str,
    message: String,
) {
    warn!("{message}");
    if !told
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(backend)
    {
        return;
    }
    notifier.message(Level::Warning, message).await;
}
