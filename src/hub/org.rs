//! Organisations: each a VPD code, a name, its own export sequences and, when it exchanges
//! files with ESR through the hub, a hub address and an optional extra CA certificate.

use super::{HubError, HubUrl};
use crate::store::Store;
use std::path::PathBuf;

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    /// VPD code: exactly 3 letters or digits, upper case.
    pub vpd: String,
    /// Name.
    pub name: String,
    /// Its hub connection.
    pub hub: Option<HubUrl>,
    /// An extra CA certificate (PEM) trusted for its hub.
    pub ca_file: Option<PathBuf>,
}

impl Org {
    /// Checks and saves an organisation (creating or changing it).
    pub fn save(
        store: &Store,
        vpd: &str,
        name: &str,
        hub: Option<&str>,
        ca_file: Option<&std::path::Path>,
    ) -> Result<Org, HubError> {
        let vpd = vpd.trim().to_ascii_uppercase();
        crate::store::check_vpd(&vpd).map_err(HubError::Setup)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(HubError::Setup("the organisation needs a name".into()));
        }
        let hub = hub
            .filter(|h| !h.trim().is_empty())
            .map(HubUrl::parse)
            .transpose()
            .map_err(HubError::Setup)?;
        if let Some(p) = ca_file
            && !p.is_file()
        {
            return Err(HubError::Setup(format!(
                "the CA file {} does not exist",
                p.display()
            )));
        }
        let ca = ca_file.map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()));
        store.save_org(
            &vpd,
            name,
            hub.as_ref().map(|h| h.to_string()).as_deref(),
            ca.as_ref().map(|p| p.display().to_string()).as_deref(),
        )?;
        tracing::info!(vpd = %vpd, "organisation saved");
        Ok(Org {
            vpd,
            name: name.to_string(),
            hub,
            ca_file: ca,
        })
    }

    /// Every organisation (one whose stored hub address no longer parses shows without one).
    pub fn all(store: &Store) -> Result<Vec<Org>, HubError> {
        Ok(store
            .orgs()?
            .into_iter()
            .map(|o| Org {
                hub: o.hub_url.as_deref().and_then(|u| HubUrl::parse(u).ok()),
                ca_file: o.ca_file.map(PathBuf::from),
                vpd: o.vpd,
                name: o.name,
            })
            .collect())
    }

    /// One organisation by VPD code; a plain message when there is none.
    pub fn get(store: &Store, vpd: &str) -> Result<Org, HubError> {
        Self::all(store)?
            .into_iter()
            .find(|o| o.vpd.eq_ignore_ascii_case(vpd.trim()))
            .ok_or_else(|| {
                HubError::Setup(format!(
                    "there is no organisation {vpd:?}: add it with `esr-desk org set {} --name NAME --hub ftps://USER@HOST:PORT/`",
                    vpd.trim().to_ascii_uppercase()
                ))
            })
    }

    /// Its hub address, or a plain message when it has none.
    pub fn hub(&self) -> Result<&HubUrl, HubError> {
        self.hub.as_ref().ok_or_else(|| {
            HubError::Setup(format!(
                "organisation {} has no hub connection: set one with `esr-desk org set {} --name ... --hub ftps://USER@HOST:PORT/`",
                self.vpd, self.vpd
            ))
        })
    }

    /// Opens a session with its hub (the password from [`super::secret`]).
    pub fn connect(&self, store: &Store) -> Result<super::Session, HubError> {
        let url = self.hub()?;
        let password = super::secret::password(store, &self.vpd, &url.user)?;
        super::Session::open(url, &password, self.ca_file.as_deref())
    }

    /// "Test connection": connects, logs in and opens both folders; Ok says what worked,
    /// Err says in plain words what failed.
    pub fn test(&self, store: &Store) -> Result<String, HubError> {
        let url = self.hub()?;
        let mut s = self.connect(store)?;
        s.check_folder(super::OUT)?;
        s.check_folder(super::IN)?;
        s.close();
        Ok(format!(
            "connected to {}:{} with TLS, logged in as {}, and found the folders {} and {}",
            url.host,
            url.port,
            url.user,
            super::OUT,
            super::IN
        ))
    }
}
