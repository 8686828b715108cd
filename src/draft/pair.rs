//! Which names belong together: production's and staging's, told apart by the words teams use
//! for them, in any position of an environment name, a parameter path or a host name
//! (`shop-prod` / `shop-staging`, `/books/live/` / `/books/beta/`).

/// Which side a name is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Production,
    Staging,
}

/// The words for production and for staging, as whole segments of a name.
const PRODUCTION: &[&str] = &["production", "prod", "prd", "live"];
const STAGING: &[&str] = &["staging", "stage", "stg", "beta", "preprod", "uat"];

/// A name with its environment word taken out: names of one application on both sides have
/// the same shape (`shop-{}`, `/books/{}/`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shaped {
    pub shape: String,
    pub side: Side,
    /// The environment word as written (`live`, `Staging`).
    pub word: String,
}

/// The shape and side of `name`: exactly one of its segments (split at `-`, `_`, `.` and `/`)
/// is a word for production or staging; `None` otherwise.
pub fn shaped(name: &str) -> Option<Shaped> {
    let mut found = None;
    let mut shape = String::new();
    for piece in name.split_inclusive(['-', '_', '.', '/']) {
        let (word, separator) = piece
            .char_indices()
            .last()
            .filter(|(_, c)| matches!(c, '-' | '_' | '.' | '/'))
            .map_or((piece, ""), |(i, _)| piece.split_at(i));
        let lower = word.to_ascii_lowercase();
        let side = if PRODUCTION.contains(&lower.as_str()) {
            Some(Side::Production)
        } else if STAGING.contains(&lower.as_str()) {
            Some(Side::Staging)
        } else {
            None
        };
        match side {
            Some(_) if found.is_some() => return None,
            Some(side) => {
                found = Some((side, word.to_owned()));
                shape.push_str("{}");
            }
            None => shape.push_str(word),
        }
        shape.push_str(separator);
    }
    let (side, word) = found?;
    Some(Shaped { shape, side, word })
}

/// What is left of a shape once the environment word and separators are gone (`shop`), to
/// match names of one application across kinds of names.
pub fn stem(shape: &str) -> String {
    shape
        .replace("{}", "")
        .split(['-', '_', '.', '/'])
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
        .to_ascii_lowercase()
}

/// Production and staging names of the same shape, each name once: `(production, staging)`.
/// Where a shape has several names on one side, the first in order is taken.
pub fn pairs<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<(String, String)> {
    let mut production: Vec<(String, String)> = Vec::new();
    let mut staging: Vec<(String, String)> = Vec::new();
    for name in names {
        if let Some(s) = shaped(name) {
            let list = match s.side {
                Side::Production => &mut production,
                Side::Staging => &mut staging,
            };
            if !list.iter().any(|(shape, _)| *shape == s.shape) {
                list.push((s.shape, name.to_owned()));
            }
        }
    }
    production
        .into_iter()
        .filter_map(|(shape, prod)| {
            let (_, stage) = staging.iter().find(|(s, _)| *s == shape)?;
            Some((prod, stage.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_for_each_side_in_any_position() {
        let s = shaped("shop-prod").unwrap();
        assert_eq!((s.shape.as_str(), s.side), ("shop-{}", Side::Production));
        let s = shaped("/books/beta/").unwrap();
        assert_eq!((s.shape.as_str(), s.side), ("/books/{}/", Side::Staging));
        let s = shaped("live.maps.example.org").unwrap();
        assert_eq!(
            (s.shape.as_str(), s.word.as_str()),
            ("{}.maps.example.org", "live")
        );
        assert_eq!(shaped("UAT_api").unwrap().side, Side::Staging);
        // Whole segments only, and exactly one.
        assert_eq!(shaped("product-api"), None);
        assert_eq!(shaped("prod-to-staging"), None);
        assert_eq!(shaped("shop-web"), None);
        // `preprod` is staging, not production.
        assert_eq!(shaped("shop-preprod").unwrap().side, Side::Staging);
    }

    #[test]
    fn pairs_names_of_one_shape() {
        let names = [
            "shop-prod",
            "shop-staging",
            "books-live",
            "books-beta",
            "books-uat",
            "lonely-prod",
            "other",
        ];
        assert_eq!(
            pairs(names),
            [
                ("shop-prod".to_owned(), "shop-staging".to_owned()),
                ("books-live".to_owned(), "books-beta".to_owned()),
            ]
        );
        assert_eq!(stem("/books/{}/"), "books");
        assert_eq!(stem("shop-{}"), "shop");
    }
}
