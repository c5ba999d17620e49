//! PingOne presets: issuer URLs from a region and environment id, or a custom domain.

/// A PingOne region (the top-level domain of `auth.pingone.<tld>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Region {
    /// `com`
    NorthAmerica,
    /// `ca`
    Canada,
    /// `eu`
    Europe,
    /// `com.au`
    Australia,
    /// `sg`
    Singapore,
    /// `asia` (Asia-Pacific, legacy)
    AsiaPacific,
}

impl Region {
    /// Parses a top-level domain name as used in `PINGONE_REGION`.
    pub fn parse(tld: &str) -> Option<Self> {
        match tld.trim().to_ascii_lowercase().as_str() {
            "com" | "na" | "us" => Some(Self::NorthAmerica),
            "ca" => Some(Self::Canada),
            "eu" => Some(Self::Europe),
            "com.au" | "au" => Some(Self::Australia),
            "sg" => Some(Self::Singapore),
            "asia" | "ap" => Some(Self::AsiaPacific),
            _ => None,
        }
    }

    /// The region's top-level domain.
    pub fn tld(self) -> &'static str {
        match self {
            Self::NorthAmerica => "com",
            Self::Canada => "ca",
            Self::Europe => "eu",
            Self::Australia => "com.au",
            Self::Singapore => "sg",
            Self::AsiaPacific => "asia",
        }
    }
}

/// `https://auth.pingone.<tld>/<environmentId>/as`
pub fn issuer(region: Region, environment_id: &str) -> String {
    format!(
        "https://auth.pingone.{}/{}/as",
        region.tld(),
        environment_id.trim()
    )
}

/// `https://<domain>/as`; a scheme or trailing slash given with the domain is dropped.
pub fn custom_domain_issuer(domain: &str) -> String {
    let host = domain
        .trim()
        .trim_start_matches("https://")
        .trim_end_matches('/');
    format!("https://{host}/as")
}

/// PingOne environment ids are UUIDs.
pub fn is_environment_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_has_its_host() {
        let env = "5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11";
        let expected = [
            ("com", "https://auth.pingone.com/"),
            ("ca", "https://auth.pingone.ca/"),
            ("eu", "https://auth.pingone.eu/"),
            ("com.au", "https://auth.pingone.com.au/"),
            ("sg", "https://auth.pingone.sg/"),
            ("asia", "https://auth.pingone.asia/"),
        ];
        for (tld, prefix) in expected {
            let region = Region::parse(tld).expect("known region");
            assert_eq!(issuer(region, env), format!("{prefix}{env}/as"));
        }
        assert_eq!(Region::parse("mars"), None);
    }

    #[test]
    fn custom_domain() {
        assert_eq!(
            custom_domain_issuer("login.example.com"),
            "https://login.example.com/as"
        );
        assert_eq!(
            custom_domain_issuer("https://login.example.com/"),
            "https://login.example.com/as"
        );
    }

    #[test]
    fn environment_ids() {
        assert!(is_environment_id("5f9a2a7c-1c3e-4c1e-9a2f-1d5e0c7b9a11"));
        assert!(!is_environment_id("5f9a2a7c1c3e4c1e9a2f1d5e0c7b9a11"));
        assert!(!is_environment_id("../../evil"));
    }
}
