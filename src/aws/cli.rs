//! aws CLI command lines for the recovery report: what a human runs to finish an undo standin
//! could not (one service denying access, as in the incident). They carry the journal's region,
//! profile and endpoint, and never a secret: a SecureString is read back by the command itself
//! from the parameter's history.

use crate::config::AwsSettings;

/// One `aws SERVICE OPERATION --flag value ...` line, values shell-quoted.
pub struct Line {
    words: Vec<String>,
}

impl Line {
    pub fn new(aws: &AwsSettings, service: &str, operation: &str) -> Self {
        let mut words = vec!["aws".to_owned(), service.to_owned(), operation.to_owned()];
        for (flag, value) in [
            ("--region", &aws.region),
            ("--profile", &aws.profile),
            ("--endpoint-url", &aws.endpoint_url),
        ] {
            if let Some(value) = value {
                words.push(format!("{flag}={}", quote(value)));
            }
        }
        Self { words }
    }

    /// `--flag='value'`: joined, so a value starting with `-` is not taken for a flag.
    #[must_use]
    pub fn arg(mut self, flag: &str, value: &str) -> Self {
        self.words.push(format!("{flag}={}", quote(value)));
        self
    }

    /// `--query='EXPR' --output=text`: one value, as a shell substitution wants it.
    #[must_use]
    pub fn query(self, expr: &str) -> Self {
        self.arg("--query", expr).arg("--output", "text")
    }

    /// `--flag 'a' 'b'`: a list.
    #[must_use]
    pub fn args(mut self, flag: &str, values: &[&str]) -> Self {
        self.words.push(flag.to_owned());
        self.words.extend(values.iter().map(|v| quote(v)));
        self
    }

    /// `--flag` alone, or a subcommand word.
    #[must_use]
    pub fn flag(mut self, flag: &str) -> Self {
        self.words.push(flag.to_owned());
        self
    }

    /// `--flag="$(LINE)"`: the value is another command's output, read when the human runs it.
    #[must_use]
    pub fn output_of(mut self, flag: &str, line: Line) -> Self {
        self.words.push(format!("{flag}=\"$({})\"", line.text()));
        self
    }

    pub fn text(self) -> String {
        self.words.join(" ")
    }
}

/// `if [ "$(CHECK)" = 'EXPECTED' ]; then THEN; fi`: for an action that is a toggle, which must
/// run only while the world is as the run left it.
pub fn only_if(check: Line, expected: &str, then: Line) -> String {
    format!(
        "if [ \"$({})\" = {} ]; then {}; fi",
        check.text(),
        quote(expected),
        then.text()
    )
}

/// Quotes for a POSIX shell, leaving plain words as they are.
fn quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_quote_values_and_carry_the_journals_settings() {
        let aws = AwsSettings {
            region: Some("eu-west-1".into()),
            profile: None,
            endpoint_url: Some("http://127.0.0.1:5000".into()),
        };
        let inner = Line::new(&aws, "ssm", "get-parameter").arg("--name", "/a/b:3");
        let line = Line::new(&aws, "ssm", "put-parameter")
            .arg("--value", "it's $HOME")
            .flag("--overwrite")
            .output_of("--key-id", inner)
            .text();
        assert_eq!(
            line,
            "aws ssm put-parameter --region=eu-west-1 --endpoint-url=http://127.0.0.1:5000 \
             --value='it'\\''s $HOME' --overwrite --key-id=\"$(aws ssm get-parameter \
             --region=eu-west-1 --endpoint-url=http://127.0.0.1:5000 --name=/a/b:3)\""
        );
    }
}
