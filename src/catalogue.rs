//! The ESR interface catalogue: every interface of the seed document, as data.
//!
//! The catalogue is read from `assets/catalogue.toml`, which is compiled into the binary so the
//! tool works from any folder. This module only describes interfaces; it knows nothing about
//! file layouts (see [`crate::layout`]) and must not depend on the UI.

use serde::{Deserialize, Serialize};

/// The catalogue text bundled into the binary.
pub const BUNDLED_CATALOGUE: &str = include_str!("../assets/catalogue.toml");

/// Whether an interface is a real-time API or a file exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Call-and-response API.
    Api,
    /// Batch / CSV / FTP file exchange.
    Batch,
}

/// Direction of the data, as ticked in the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Batch: into ESR.
    In,
    /// Batch: out of ESR.
    Out,
    /// Batch: both ways; API: Get and Set.
    Both,
    /// API: reads from ESR.
    Get,
    /// API: writes to ESR.
    Set,
}

impl Direction {
    /// Plain-English label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Direction::In => "Into ESR",
            Direction::Out => "Out of ESR",
            Direction::Both => "Both ways",
            Direction::Get => "Get",
            Direction::Set => "Set",
        }
    }
}

/// One interface or sub-interface of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Stable identifier (`--interface ID`).
    pub id: String,
    /// The catalogue row this entry sits under.
    pub group: String,
    /// Sub-interface name; empty when the group has no sub-interfaces.
    #[serde(default)]
    pub name: String,
    /// API or batch.
    pub kind: Kind,
    /// Direction of the data.
    pub direction: Direction,
    /// Frequency as the seed gives it ("15 min", "daily", "TBC", "not stated", ...).
    pub frequency: String,
    /// Funding text, verbatim from the seed.
    pub funding: String,
    /// "live" or "decommissioned".
    pub status: String,
    /// Description, verbatim from the seed.
    pub description: String,
    /// Where the seed is odd or silent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl Interface {
    /// "Group — Name", or just the group for a lone interface.
    pub fn title(&self) -> String {
        if self.name.is_empty() {
            self.group.clone()
        } else {
            format!("{} — {}", self.group, self.name)
        }
    }

    /// True when the interface is no longer in service.
    pub fn is_decommissioned(&self) -> bool {
        self.status.eq_ignore_ascii_case("decommissioned")
    }
}

/// Which kinds of interface a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum KindFilter {
    /// APIs and batch interfaces.
    #[default]
    All,
    /// APIs only.
    Api,
    /// Batch interfaces only.
    Batch,
}

/// Which directions a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DirectionFilter {
    /// Every direction.
    #[default]
    All,
    /// Into ESR (batch In or Both; API Set or Both).
    IntoEsr,
    /// Out of ESR (batch Out or Both; API Get or Both).
    OutOfEsr,
}

impl Interface {
    /// True when the interface carries data into ESR.
    pub fn is_inbound(&self) -> bool {
        matches!(
            self.direction,
            Direction::In | Direction::Both | Direction::Set
        )
    }

    /// True when the interface carries data out of ESR.
    pub fn is_outbound(&self) -> bool {
        matches!(
            self.direction,
            Direction::Out | Direction::Both | Direction::Get
        )
    }

    /// True when every word of `query` appears in the id, name, group, description or notes.
    pub fn matches_text(&self, query: &str) -> bool {
        let hay = format!(
            "{} {} {} {} {} {}",
            self.id,
            self.group,
            self.name,
            self.description,
            self.frequency,
            self.notes.as_deref().unwrap_or("")
        )
        .to_lowercase();
        query
            .split_whitespace()
            .all(|w| hay.contains(&w.to_lowercase()))
    }
}

#[derive(Deserialize)]
struct CatalogueFile {
    interface: Vec<Interface>,
}

/// Errors reading a catalogue.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The TOML text does not parse.
    #[error("the interface catalogue is not valid: {0}")]
    Parse(#[from] toml::de::Error),
    /// Two entries share an id.
    #[error("the interface catalogue lists the id {0:?} twice")]
    DuplicateId(String),
}

/// The whole catalogue.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// Every interface, in the seed's order (APIs first, then batch).
    pub interfaces: Vec<Interface>,
}

impl Catalogue {
    /// Parses catalogue TOML text.
    pub fn parse(text: &str) -> Result<Self, CatalogueError> {
        let file: CatalogueFile = toml::from_str(text)?;
        let mut seen = std::collections::HashSet::new();
        for i in &file.interface {
            if !seen.insert(i.id.as_str()) {
                return Err(CatalogueError::DuplicateId(i.id.clone()));
            }
        }
        Ok(Self {
            interfaces: file.interface,
        })
    }

    /// The catalogue bundled into the binary.
    pub fn bundled() -> Self {
        // The bundled text is checked by a unit test; a parse failure here is a build defect,
        // so fall back to an empty catalogue rather than panic in a user's hands.
        Self::parse(BUNDLED_CATALOGUE).unwrap_or(Self {
            interfaces: Vec::new(),
        })
    }

    /// Looks an interface up by id (case-insensitive).
    pub fn get(&self, id: &str) -> Option<&Interface> {
        self.interfaces
            .iter()
            .find(|i| i.id.eq_ignore_ascii_case(id))
    }

    /// The interfaces that pass a text query and the kind and direction filters.
    pub fn filter(
        &self,
        query: &str,
        kind: KindFilter,
        direction: DirectionFilter,
    ) -> Vec<&Interface> {
        self.interfaces
            .iter()
            .filter(|i| match kind {
                KindFilter::All => true,
                KindFilter::Api => i.kind == Kind::Api,
                KindFilter::Batch => i.kind == Kind::Batch,
            })
            .filter(|i| match direction {
                DirectionFilter::All => true,
                DirectionFilter::IntoEsr => i.is_inbound(),
                DirectionFilter::OutOfEsr => i.is_outbound(),
            })
            .filter(|i| i.matches_text(query))
            .collect()
    }

    /// The batch interfaces only.
    pub fn batch(&self) -> impl Iterator<Item = &Interface> {
        self.interfaces.iter().filter(|i| i.kind == Kind::Batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_catalogue_has_every_interface_of_the_seed() {
        let c = Catalogue::parse(BUNDLED_CATALOGUE).expect("bundled catalogue parses");
        assert_eq!(c.interfaces.len(), 42);
        assert_eq!(c.batch().count(), 37);
        assert_eq!(
            c.interfaces.iter().filter(|i| i.kind == Kind::Api).count(),
            5
        );
        let covid = c
            .get("api-covid-19-digital-staff-passport")
            .expect("covid api");
        assert!(covid.is_decommissioned());
        let inbound = c.get("nhs-pension-inbound").expect("pension inbound");
        assert_eq!(inbound.direction, Direction::Out);
        assert!(inbound.notes.as_deref().unwrap_or("").contains("Out"));
        assert_eq!(
            c.get("nhs-pension-year-end").map(|i| i.frequency.as_str()),
            Some("annual")
        );
    }

    #[test]
    fn filters_by_text_kind_and_direction() {
        let c = Catalogue::bundled();
        assert_eq!(c.filter("", KindFilter::Api, DirectionFilter::All).len(), 5);
        let pension = c.filter("pension", KindFilter::Batch, DirectionFilter::All);
        assert_eq!(
            pension.len(),
            6,
            "five NHS Pension sub-interfaces and MyCSP"
        );
        let into = c.filter("", KindFilter::Batch, DirectionFilter::IntoEsr);
        assert!(into.iter().all(|i| i.is_inbound()));
        assert!(into.iter().any(|i| i.id == "absences"));
        assert!(!into.iter().any(|i| i.id == "active-directory"));
        assert_eq!(
            c.filter("nmc registrations", KindFilter::All, DirectionFilter::All)
                .len(),
            1
        );
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let text = "[[interface]]\nid='a'\ngroup='A'\nkind='batch'\ndirection='in'\nfrequency='daily'\nfunding=''\nstatus='live'\ndescription=''\n";
        let twice = format!("{text}{text}");
        assert!(matches!(
            Catalogue::parse(&twice),
            Err(CatalogueError::DuplicateId(_))
        ));
    }
}
