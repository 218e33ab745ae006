//! Reading and writing the data of the Secrets both controllers manage.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;

/// A value of a Secret, if present and UTF-8.
pub fn read(secret: &Secret, key: &str) -> Option<String> {
    let bytes = secret.data.as_ref()?.get(key)?;
    String::from_utf8(bytes.0.clone()).ok()
}

/// The `data` of a Secret holding these text entries.
pub fn entries<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, ByteString> {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), ByteString(v.as_bytes().to_vec())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_non_utf8_reads_as_absent() {
        let mut data = entries([("a", "1")]);
        data.insert("bin".to_owned(), ByteString(vec![0xff, 0xfe]));
        let secret = Secret {
            data: Some(data),
            ..Secret::default()
        };
        assert_eq!(read(&secret, "a").as_deref(), Some("1"));
        assert_eq!(read(&secret, "bin"), None);
        assert_eq!(read(&secret, "missing"), None);
    }
}
