//! A drafted playbook as YAML text with comments: serde cannot write comments, and the
//! comments are what makes a draft reviewable (where each value came from, what to check).

use super::Draft;

/// A YAML scalar: plain where that reads back as the same string, else double-quoted (JSON's
/// quoting, which YAML reads).
fn q(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
        && text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/')
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        text.to_owned()
    } else {
        serde_json::to_string(text).expect("a string serializes")
    }
}

fn list(items: &[String]) -> String {
    format!(
        "[{}]",
        items.iter().map(|i| q(i)).collect::<Vec<_>>().join(", ")
    )
}

/// The playbook for `draft`; `schema` is the path the first line names for editors.
pub fn render(draft: &Draft, schema: &str, account: &str) -> String {
    let (prod, staging) = (&draft.production, &draft.staging);
    let mut out = String::new();
    let mut w = |line: &str| {
        out.push_str(line);
        out.push('\n');
    };
    w(&format!("# yaml-language-server: $schema={schema}"));
    w(&format!(
        "# Drafted by `standin init` from {account}: {} stands in for {} when production is down.",
        staging.name, prod.name
    ));
    w("# A draft: read every step, run `standin plan` on it, and rehearse it with `standin drill`");
    w("# before the day it is needed. Lines marked TODO need a person's answer.");
    w("version: 1");
    w(&format!("name: {}", q(&format!("promote-{}", draft.stem))));
    w(&format!(
        "description: {}",
        q(&format!(
            "promote {} to serve production while {} is down",
            staging.name, prod.name
        ))
    ));
    if let (Some(key), Some((from, to))) = (&draft.database_key, &draft.prefixes) {
        w("guards:");
        w("  # The stand-in must use production's database, never its own (the built-in guard");
        w("  # `staging-db-in-production` also refuses staging's database in production).");
        w("  - name: the stand-in uses production's database");
        w(&format!("    parameter: {}", q(&format!("{to}{key}"))));
        w(&format!(
            "    equals: {{parameter: {}}}",
            q(&format!("{from}{key}"))
        ));
    }
    let recovery = draft.record.is_some();
    if recovery {
        w("recovery: production-answers  # the gate whose pass means production is back");
        w("rto_target: 15m               # TODO: your recovery time objective");
    }
    w("steps:");
    w("  - id: go-ahead");
    w("    kind: confirm");
    w(&format!(
        "    message: {}",
        q(&format!(
            "Production ({}) is down. Promote {} to serve production?",
            prod.name, staging.name
        ))
    ));
    w("");
    match &draft.prefixes {
        Some((from, to)) => {
            w("  - id: prod-env-to-staging");
            w("    kind: ssm.copy-parameters");
            w("    description: staging gets production's settings and secrets (SecureStrings are never shown)");
            w(&format!("    from: {}", q(from)));
            w(&format!("    to: {}", q(to)));
            if !draft.except.is_empty() {
                w(&format!(
                    "    except: {}  # staging's own address: it keeps it",
                    list(&draft.except)
                ));
            }
        }
        None => w(&format!(
            "  # TODO: no parameter prefixes pair up for {}: copy production's settings here",
            draft.stem
        )),
    }
    w("");
    if !draft.set_env.is_empty() {
        w("  - id: staging-runs-as-production");
        w("    kind: eb.set-env");
        w(&format!("    environment: {}", q(&staging.name)));
        let set: Vec<String> = draft
            .set_env
            .iter()
            .map(|(k, v)| format!("{}: {}", q(k), q(v)))
            .collect();
        w(&format!(
            "    set: {{{}}}  # as production has them",
            set.join(", ")
        ));
        w("");
    }
    w("  - id: staging-capacity");
    w("    kind: eb.scale");
    w("    description: the stand-in gets production's capacity before production's traffic");
    w(&format!("    environment: {}", q(&staging.name)));
    w(&format!("    from: {}", q(&prod.name)));
    w("");
    w("  - id: restart-staging");
    w("    kind: eb.restart");
    w("    description: the app servers load the new settings");
    w(&format!("    environment: {}", q(&staging.name)));
    w("");
    w("  - id: staging-healthy");
    w("    kind: eb.wait-healthy");
    w(&format!("    environment: {}", q(&staging.name)));
    w("");
    let target = staging.cname.clone().unwrap_or_default();
    match &draft.record {
        Some((zone, record)) => {
            w("  - id: repoint-app");
            w("    kind: route53.repoint");
            w("    description: production's name goes to the stand-in");
            w(&format!("    zone: {}", q(zone.name.trim_end_matches('.'))));
            w(&format!(
                "    record: {}",
                q(record.name.trim_end_matches('.'))
            ));
            w(&format!("    type: {}", q(&record.rtype)));
            match &record.alias {
                // An alias to production's environment: the same alias to the stand-in's, in
                // the same region's Elastic Beanstalk zone (an A record cannot hold a name).
                Some(alias) => {
                    w("    alias:");
                    w(&format!("      dns_name: {}", q(&target)));
                    w(&format!(
                        "      hosted_zone_id: {}",
                        q(&alias.hosted_zone_id)
                    ));
                    w(&format!(
                        "      evaluate_target_health: {}",
                        alias.evaluate_target_health
                    ));
                }
                None => {
                    w(&format!("    to: {}", q(&target)));
                    w("    ttl: 60");
                }
            }
        }
        None => w(&format!(
            "  # TODO: no DNS record points at {}: repoint production's name to {target} here",
            prod.name
        )),
    }
    w("");
    match (&draft.staging_host, &draft.load_balancer) {
        (Some(host), Some(lb)) => {
            w("  - id: lock-staging-url");
            w("    kind: lock-url");
            w("    description: the staging URL answers \"access denied\", so nobody uses it as staging");
            w("    strategy: alb");
            w(&format!("    load_balancer: {}", q(lb)));
            w(&format!("    host: {}", q(host)));
        }
        _ => w("  # TODO: lock staging's own URL (kind lock-url) once you know its host and load balancer"),
    }
    w("");
    match &draft.workers {
        Some((tags, count)) => {
            w("  - id: restart-workers");
            w("    kind: workers.restart");
            w(&format!(
                "    description: the step forgotten in the incident ({count} instance(s) have these tags now)"
            ));
            w("    targets:");
            for (k, v) in tags {
                w(&format!("      {}: {}", q(k), q(v)));
            }
            w("    service: queue-worker  # TODO: your workers' systemd service (restarted, and checked)");
            if let (Some((_, to)), false) = (&draft.prefixes, draft.worker_keys.is_empty()) {
                w("    expect_env:");
                w(&format!("      from: {}", q(to)));
                w(&format!("      keys: {}", list(&draft.worker_keys)));
            }
        }
        None => w("  # TODO: no instances tagged as staging's queue workers: restart them here (kind workers.restart)"),
    }
    w("");
    if let Some((_, record)) = &draft.record {
        w("  - id: production-answers");
        w("    kind: http.check");
        w(&format!(
            "    url: {}  # TODO: a health URL",
            q(&format!("https://{}/", record.name.trim_end_matches('.')))
        ));
        w("    within: 5m");
    }
    if let (Some(host), Some(_)) = (&draft.staging_host, &draft.load_balancer) {
        w("");
        w("  - id: staging-url-locked");
        w("    kind: http.check");
        w(&format!("    url: {}", q(&format!("https://{host}/"))));
        w("    expect_status: 403");
        w("    within: 2m");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::q;

    #[test]
    fn quotes_what_yaml_would_read_otherwise() {
        assert_eq!(q("shop-staging"), "shop-staging");
        assert_eq!(q("/shop/prod/"), "/shop/prod/");
        assert_eq!(q("yes"), "\"yes\"");
        assert_eq!(q("8080"), "\"8080\"");
        assert_eq!(q("a: b"), "\"a: b\"");
        assert_eq!(q("#x"), "\"#x\"");
        assert_eq!(q(""), "\"\"");
    }
}
