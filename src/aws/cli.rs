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

/// The settings an account's lines carry, and the lines to run before them. The aws CLI has
/// no flag to assume a role, so an account reached through `role_arn` gets a profile of its
/// own (`standin-NAME`) that assumes it, from the account's profile (or `default`): its lines
/// fail without that profile rather than act in the caller's own account.
pub fn as_account(name: &str, aws: &AwsSettings) -> (AwsSettings, Vec<String>) {
    let Some(role) = &aws.role_arn else {
        return (aws.clone(), Vec::new());
    };
    let profile = format!("standin-{name}");
    let source = aws.profile.as_deref().unwrap_or("default");
    let mut setup: Vec<String> = [("role_arn", role.as_str()), ("source_profile", source)]
        .into_iter()
        .chain(aws.external_id.as_deref().map(|id| ("external_id", id)))
        .map(|(key, value)| {
            format!(
                "aws configure set {key} {} --profile={}",
                quote(value),
                quote(&profile)
            )
        })
        .collect();
    // Values that reach these lines have no control characters (settings are checked when a
    // playbook or a journal is read), so nothing ends the comment early.
    setup.insert(
        0,
        format!(
            "# account {name}: a profile {profile} that assumes its role with profile {}'s credentials (credentials in variables instead: `credential_source Environment` for `source_profile`)",
            quote(source)
        ),
    );
    let settings = AwsSettings {
        profile: Some(profile),
        role_arn: None,
        external_id: None,
        ..aws.clone()
    };
    (settings, setup)
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
            endpoint_url: Some("http://127.0.0.1:5000".into()),
            ..AwsSettings::default()
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

    #[test]
    fn an_account_behind_a_role_gets_a_profile_that_assumes_it() {
        let aws = AwsSettings {
            region: Some("us-east-1".into()),
            role_arn: Some("arn:aws:iam::111111111111:role/dns".into()),
            external_id: Some("it's".into()),
            ..AwsSettings::default()
        };
        let (settings, setup) = as_account("network", &aws);
        assert_eq!(
            setup,
            [
                "# account network: a profile standin-network that assumes its role with profile default's credentials (credentials in variables instead: `credential_source Environment` for `source_profile`)",
                "aws configure set role_arn arn:aws:iam::111111111111:role/dns --profile=standin-network",
                "aws configure set source_profile default --profile=standin-network",
                "aws configure set external_id 'it'\\''s' --profile=standin-network",
            ]
        );
        assert_eq!(
            Line::new(&settings, "ssm", "delete-parameter").text(),
            "aws ssm delete-parameter --region=us-east-1 --profile=standin-network"
        );
        let plain = AwsSettings::default();
        assert_eq!(as_account("app", &plain), (plain, Vec::new()));
    }
}
