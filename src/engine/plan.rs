//! Plans: every step read against live state (concurrently, bounded), then put in playbook
//! order on the state the earlier steps will leave, and checked by the guards. A plan can be
//! saved and run later, exactly: a run compares each step's fresh plan with the saved one and
//! stops on any difference.

use std::collections::{BTreeSet, HashMap};

use futures_util::{stream, StreamExt};
use serde::{Deserialize, Serialize};

use super::source::Source;
use crate::coverage::{Finding, Planned};
use crate::guards::{self, GuardResult, Predicted};
use crate::playbook::Playbook;
use crate::steps::clients::Follow;
use crate::steps::{Action, Change, Ctx, Resource, Value};

/// The saved-plan format this build writes and reads. 3 made values and resources typed (2
/// had added a parameter's attributes and per-listener `lock-url` lines).
pub const PLAN_FORMAT: u32 = 3;

/// At most this many steps are planned at once: enough to hide latency, few enough not to be
/// throttled by the APIs.
const PLAN_CONCURRENCY: usize = 8;

/// One step of a plan, as shown and as saved.
#[derive(Debug, Serialize, Deserialize)]
pub struct PlannedStep {
    pub id: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The parallel group it runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The account of the playbook's `accounts:` it acts in; none: the playbook's `aws:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub changes: Vec<Change>,
    /// When clients follow each DNS record the step changes: once the change is INSYNC, and
    /// within the TTL the record has before it (as the earlier steps leave it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<Follow>,
    pub warnings: Vec<String>,
    /// Why the step could not be planned (nothing was changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A whole plan: `standin plan --output json` prints it and `standin plan -o FILE` saves it.
/// A saved plan with a field this standin does not know is refused: an edit by hand that
/// looks meaningful (`"skip": true`) must not be silently ignored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanDoc {
    /// [`PLAN_FORMAT`].
    pub format: u32,
    pub playbook: String,
    pub file: String,
    /// What the plan was made from: the playbook's text and the `--var` names given. A saved
    /// plan runs only with the same inputs. Values of variables are not kept (they may be
    /// secrets).
    pub source: Source,
    pub created: String,
    pub steps: Vec<PlannedStep>,
    /// Warnings about the playbook as a whole (e.g. workers never restarted).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Why the stand-in could not serve a name the plan points at it (TLS certificates,
    /// host rules): warnings for `plan`, blockers for `drill --dry`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serving: Vec<String>,
    /// Every guard, checked against the state the plan leads to.
    #[serde(default)]
    pub guards: Vec<GuardResult>,
    /// Each part of production no step covers (those ignored on purpose too, marked so).
    #[serde(default)]
    pub coverage: Vec<Finding>,
    /// What the coverage check could not read, and why: warnings for `plan`, blockers for
    /// `drill --dry` (a scheduled check must not pass on what it did not see).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<String>,
    pub summary: Summary,
}

/// Counts of a plan's changes.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub remove: usize,
    pub unchanged: usize,
    /// Waits and checks that fail the run when not met.
    pub gates: usize,
    /// Actions with no undo (restarts).
    pub irreversible: usize,
    pub failed_steps: usize,
    /// Guards that do not hold (and were not forced).
    #[serde(default)]
    pub failed_guards: usize,
    /// Parts of production no step covers and the playbook does not ignore.
    #[serde(default)]
    pub uncovered: usize,
    /// Parts of production the playbook ignores on purpose.
    #[serde(default)]
    pub ignored: usize,
}

impl PlanDoc {
    /// The plan as a document: what `standin plan -o FILE` saves, and a run keeps beside its
    /// journal (`plan.json`) as evidence of what it was to change.
    pub fn document(&self) -> Vec<u8> {
        let mut text = serde_json::to_string_pretty(self).expect("plans serialize");
        text.push('\n');
        text.into_bytes()
    }

    /// The SHA-256 of [`PlanDoc::document`], which the run's start record keeps.
    pub fn sha256(&self) -> String {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(self.document()))
    }

    /// True when the plan may run: every step planned and every guard holds.
    pub fn runnable(&self) -> bool {
        self.summary.failed_steps == 0 && self.summary.failed_guards == 0
    }

    fn summarize(&mut self) {
        let mut s = Summary::default();
        for step in &self.steps {
            s.failed_steps += usize::from(step.error.is_some());
            for c in &step.changes {
                match c.action {
                    Action::Add => s.add += 1,
                    Action::Modify => s.change += 1,
                    Action::Remove => s.remove += 1,
                    Action::Keep => s.unchanged += 1,
                    Action::Check => s.gates += 1,
                    Action::Run => s.irreversible += 1,
                }
            }
        }
        s.failed_guards = self.guards.iter().filter(|g| g.blocks()).count();
        s.ignored = self.coverage.iter().filter(|f| f.ignored).count();
        s.uncovered = self.coverage.len() - s.ignored;
        self.summary = s;
    }
}

/// Plans every step, predicts, and checks the guards (`forced` built-in guards are reported
/// but do not block).
pub async fn plan_all(pb: &Playbook, ctx: &Ctx, forced: &BTreeSet<String>) -> PlanDoc {
    // Coverage reads the account while the steps plan, and compares once they tell it what
    // production is (from what each step found live, not the state earlier steps lead to).
    let production = crate::coverage::Later::default();
    let planning = async {
        let mut steps: Vec<PlannedStep> = stream::iter(&pb.steps)
            .map(|def| async move {
                let planned = async {
                    let ctx = ctx.on(&def.id, def.account.as_deref())?;
                    def.step.plan(&ctx).await
                };
                let (changes, warnings, error) = match super::caught::caught(planned).await {
                    Ok(Ok(p)) => (p.changes, p.warnings, None),
                    Ok(Err(e)) => (Vec::new(), Vec::new(), Some(e.to_string())),
                    Err(panic) => (
                        Vec::new(),
                        Vec::new(),
                        Some(format!(
                            "internal error (a bug in standin, please report it): {panic}"
                        )),
                    ),
                };
                PlannedStep {
                    id: def.id.clone(),
                    kind: def.kind.name.to_owned(),
                    description: def.description.clone(),
                    group: def.group.clone(),
                    account: def.account.clone(),
                    changes,
                    clients: Vec::new(),
                    warnings,
                    error,
                }
            })
            .buffered(PLAN_CONCURRENCY)
            .collect()
            .await;
        production.give(crate::coverage::Moves::of(
            pb,
            &steps
                .iter()
                .map(|s| Planned {
                    kind: &s.kind,
                    changes: &s.changes,
                })
                .collect::<Vec<_>>(),
        ));
        predict(&mut steps);
        for step in &mut steps {
            step.clients = step.changes.iter().filter_map(Follow::of_change).collect();
        }
        overlaps(&mut steps);
        let state = Predicted::in_accounts(
            steps
                .iter()
                .flat_map(|s| s.changes.iter().map(|c| (s.account.as_deref(), c))),
        );
        let live = guards::LiveAws::new(ctx);
        // At once: they read much the same things, each once through `live`.
        let (guards, warnings, serving) = tokio::join!(
            guards::check(&pb.guards, &state, &live, forced),
            guards::playbook_warnings(pb, &state, &live),
            guards::serving_warnings(&state, &live),
        );
        drop(state);
        (steps, guards, warnings, serving)
    };
    let ((steps, guards, warnings, serving), coverage) =
        tokio::join!(planning, crate::coverage::check(pb, &production, ctx));
    let mut warnings = warnings;
    warnings.extend(coverage.stale);
    let mut doc = PlanDoc {
        format: PLAN_FORMAT,
        playbook: pb.name.clone(),
        file: pb.path.display().to_string(),
        source: Source::of(pb),
        created: super::record::now(),
        warnings,
        serving,
        steps,
        guards,
        coverage: coverage.findings,
        unchecked: coverage.unchecked,
        summary: Summary::default(),
    };
    doc.summarize();
    doc
}

/// Members of a parallel group run at once, so none may touch what another changes (or
/// checks), counting a resource as the unit AWS changes it in ([`Resource::unit`]): the later
/// one fails to plan, which stops the run before it starts.
fn overlaps(steps: &mut [PlannedStep]) {
    // A resource is one account's: the same name in two accounts is two resources.
    let mut owners: HashMap<(&str, Option<&str>, Resource), &str> = HashMap::new();
    let mut found: Vec<(usize, String)> = Vec::new();
    for (k, step) in steps.iter().enumerate() {
        let Some(group) = &step.group else {
            continue;
        };
        // In plan order, each once.
        let mut touched: Vec<Resource> = Vec::new();
        for change in step.changes.iter().filter(|c| c.action != Action::Keep) {
            let unit = change.resource.unit();
            if !touched.contains(&unit) {
                touched.push(unit);
            }
        }
        for resource in touched {
            let account = step.account.as_deref();
            match owners.get(&(group.as_str(), account, resource.clone())) {
                Some(other) => found.push((
                    k,
                    format!("touches {resource}, as step `{other}` of the same parallel group does; run steps that touch one resource in order, outside the group"),
                )),
                None => {
                    owners.insert((group.as_str(), account, resource), &step.id);
                }
            }
        }
    }
    for (k, error) in found {
        let step = &mut steps[k];
        step.error = Some(match step.error.take() {
            Some(earlier) => format!("{earlier}; {error}"),
            None => error,
        });
    }
}

/// Rewrites each step's changes as they will be when the step runs. Steps are read
/// concurrently against live state; this puts them back in order:
/// - a resource an earlier step changes starts from that step's result, not the live value;
/// - a write keeps the attributes it does not set as they will be then;
/// - whether a change still changes something is decided again (as the step decides it);
/// - a parameter's version is the live one moved on by one for each earlier step that writes
///   it (a value, another type, a key inside it), and a write makes the next one.
///
/// So that each step's plan equals what the step will meet when it runs, for any sequence of
/// writes.
/// Resources and parameters are each account's own (keys carry the step's account).
fn predict(steps: &mut [PlannedStep]) {
    let mut state: HashMap<(Option<String>, Resource), Option<Value>> = HashMap::new();
    // Each parameter's version as the steps so far leave it (0: absent).
    let mut versions: HashMap<(Option<String>, String), i64> = HashMap::new();
    for step in steps.iter_mut() {
        let account = &step.account;
        let mut written = Vec::new();
        for change in &mut step.changes {
            if matches!(change.action, Action::Check | Action::Run) {
                continue;
            }
            // The parameter's version as this step read it live: its value's, or the one
            // before the version its write makes (a key absent from a `.env` file has none).
            let read = change.before.as_ref().and_then(Value::version).or_else(|| {
                let written = change.after.as_ref().and_then(Value::version)?;
                Some(written - i64::from(change.action != Action::Keep))
            });
            if let Some(earlier) = state.get(&(account.clone(), change.resource.clone())) {
                change.before = earlier.clone();
            }
            if let Some(after) = &mut change.after {
                after.written_over(change.before.as_ref());
            }
            change.action = match (&change.before, &change.after) {
                (None, None) => Action::Keep,
                (None, Some(_)) => Action::Add,
                (Some(_), None) => Action::Remove,
                (Some(b), Some(a)) if a.same(b) => Action::Keep,
                _ => Action::Modify,
            };
            if let Some(name) = change.resource.held_by() {
                let now = *versions
                    .entry((account.clone(), name.to_owned()))
                    .or_insert(read.unwrap_or(0));
                if let Some(before) = &mut change.before {
                    before.set_version(now);
                }
                if let Some(after) = &mut change.after {
                    after.set_version(if change.action == Action::Keep {
                        now
                    } else {
                        now + 1
                    });
                }
                if change.action != Action::Keep {
                    written.push(name.to_owned());
                }
            }
            state.insert(
                (account.clone(), change.resource.clone()),
                change.after.clone(),
            );
        }
        written.sort();
        written.dedup();
        for name in written {
            *versions.entry((account.clone(), name)).or_default() += 1;
        }
    }
}

/// How a step's fresh plan differs from what the saved plan said, one line per resource;
/// empty when it would do exactly what was planned: the same resources in the same order, each
/// the same number of times, with the same actions and values. Of gates and restarts only the
/// action and what they ask for compare: what they observed (health, HTTP status) moves on its
/// own.
pub fn differences(planned: &[Change], fresh: &[Change]) -> Vec<String> {
    // A gate and a restart may share a resource (workers: restart, then check them).
    let key = |c: &Change| match c.action {
        Action::Check | Action::Run => format!("{} ({})", c.resource, c.action.sign()),
        _ => c.resource.to_string(),
    };
    let show = |c: &Change| {
        format!(
            "{} {} → {}",
            c.action.sign(),
            c.before
                .as_ref()
                .map_or("nothing".into(), ToString::to_string),
            c.after
                .as_ref()
                .map_or("nothing".into(), ToString::to_string)
        )
    };
    // Each resource's changes on both sides, resources in the order they first appear.
    let mut order: Vec<String> = Vec::new();
    let mut sides: HashMap<String, (Vec<&Change>, Vec<&Change>)> = HashMap::new();
    for (change, fresh_side) in fresh
        .iter()
        .map(|c| (c, true))
        .chain(planned.iter().map(|c| (c, false)))
    {
        let k = key(change);
        let entry = sides.entry(k.clone()).or_insert_with(|| {
            order.push(k);
            (Vec::new(), Vec::new())
        });
        if fresh_side {
            entry.1.push(change);
        } else {
            entry.0.push(change);
        }
    }
    let mut out = Vec::new();
    for k in order {
        let (was, now) = &sides[&k];
        match (was.as_slice(), now.as_slice()) {
            ([], [now]) => out.push(format!("{k}: not in the plan, now {}", show(now))),
            ([was], []) => out.push(format!("{k}: planned {}, now not touched", show(was))),
            (was, now) if was.len() != now.len() => out.push(format!(
                "{k}: planned {} change(s) of it, now {}",
                was.len(),
                now.len()
            )),
            (was, now) => {
                for (p, n) in was.iter().zip(now) {
                    // A gate's or a restart's `before` is what it observed; its `after` is
                    // what the playbook asks for, and must not move.
                    let observed = matches!(p.action, Action::Check | Action::Run);
                    if p.action != n.action
                        || p.after != n.after
                        || (!observed && p.before != n.before)
                    {
                        out.push(format!("{k}: planned {}, now {}", show(p), show(n)));
                    }
                }
            }
        }
    }
    if out.is_empty() && !planned.iter().map(key).eq(fresh.iter().map(key)) {
        out.push("the same changes, listed in another order than planned".to_owned());
    }
    out
}

/// Why a saved plan cannot describe a run of `pb`: it must list exactly the playbook's steps
/// (same ids and kinds, in the same order, none missing or extra), each of them planned.
/// Checked before any AWS call.
pub fn mismatch(saved: &PlanDoc, pb: &Playbook) -> Option<String> {
    let ours: Vec<(&str, &str)> = pb
        .steps
        .iter()
        .map(|s| (s.id.as_str(), s.kind.name))
        .collect();
    let theirs: Vec<(&str, &str)> = saved
        .steps
        .iter()
        .map(|s| (s.id.as_str(), s.kind.as_str()))
        .collect();
    let name = |s: Option<&(&str, &str)>| {
        s.map_or_else(
            || "nothing".to_owned(),
            |(id, kind)| format!("`{id}` ({kind})"),
        )
    };
    if ours != theirs {
        let at = (0..ours.len().max(theirs.len()))
            .find(|i| ours.get(*i) != theirs.get(*i))
            .unwrap_or_default();
        return Some(format!(
            "it does not list the playbook's steps: step {} is {} in the plan and {} in the playbook ({} steps in the plan, {} in the playbook)",
            at + 1,
            name(theirs.get(at)),
            name(ours.get(at)),
            theirs.len(),
            ours.len()
        ));
    }
    if let Some((s, def)) = saved
        .steps
        .iter()
        .zip(&pb.steps)
        .find(|(s, def)| s.account != def.account)
    {
        let shown = |a: Option<&str>| a.unwrap_or(crate::config::DEFAULT_ACCOUNT).to_owned();
        return Some(format!(
            "step `{}` acts in account `{}` in the plan and in `{}` in the playbook",
            s.id,
            shown(s.account.as_deref()),
            shown(def.account.as_deref())
        ));
    }
    saved
        .steps
        .iter()
        .find(|s| s.error.is_some())
        .map(|s| format!("step `{}` could not be planned when it was made", s.id))
}

/// Why a saved plan cannot run with these inputs (checked before any AWS call), if it cannot.
pub fn other_inputs(saved: &PlanDoc, pb: &Playbook) -> Option<String> {
    saved.source.differs(pb, "the plan was made")
}

/// Where the live state no longer gives the saved plan (same inputs): one line per resource.
pub fn stale(saved: &PlanDoc, fresh: &PlanDoc) -> Vec<String> {
    let mut out = Vec::new();
    for (saved_step, fresh_step) in saved.steps.iter().zip(&fresh.steps) {
        for line in differences(&saved_step.changes, &fresh_step.changes) {
            out.push(format!("step `{}`: {line}", saved_step.id));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ssm::Attrs;
    use crate::steps::{ParamValue, Secretish};

    /// A plain parameter at `version`.
    fn plain(value: &str, version: i64) -> Value {
        Value::Parameter(ParamValue {
            held: Secretish::plain(value, version),
            ptype: "String".into(),
            attrs: Default::default(),
            given: Some(Default::default()),
        })
    }

    /// A SecureString parameter holding `value` (only fingerprinted) at `version`.
    fn secret(value: &str, version: i64) -> Value {
        Value::Parameter(ParamValue {
            held: Secretish::secret(version, &[value, ""]),
            ptype: "SecureString".into(),
            attrs: Default::default(),
            given: Some(Default::default()),
        })
    }

    fn change(action: Action, name: &str, before: Option<Value>, after: Option<Value>) -> Change {
        Change {
            action,
            resource: Resource::parameter(name),
            before,
            after,
        }
    }

    fn step(id: &str, changes: Vec<Change>) -> PlannedStep {
        PlannedStep {
            group: None,
            account: None,
            id: id.into(),
            kind: "ssm.put-parameters".into(),
            description: None,
            changes,
            clients: Vec::new(),
            warnings: Vec::new(),
            error: None,
        }
    }

    fn version(v: &Option<Value>) -> Option<i64> {
        v.as_ref().and_then(Value::version)
    }

    #[test]
    fn later_steps_start_from_what_earlier_steps_leave() {
        let x =
            |a, b: &str, bv, c: &str, cv| change(a, "/a/X", Some(plain(b, bv)), Some(plain(c, cv)));
        let mut steps = vec![
            step("copy", vec![x(Action::Modify, "true", 3, "false", 4)]),
            step(
                "again",
                vec![
                    x(Action::Modify, "true", 3, "false", 4),
                    change(
                        Action::Keep,
                        "/a/Y",
                        Some(plain("1", 1)),
                        Some(plain("1", 1)),
                    ),
                ],
            ),
            step("back", vec![x(Action::Keep, "true", 3, "true", 3)]),
        ];
        predict(&mut steps);
        assert_eq!(steps[1].changes[0].action, Action::Keep);
        assert_eq!(version(&steps[1].changes[0].after), Some(4));
        assert_eq!(steps[1].changes[1].action, Action::Keep);
        let back = &steps[2].changes[0];
        assert_eq!(back.action, Action::Modify);
        assert_eq!(back.before, Some(plain("false", 4)));
        assert_eq!(back.after, Some(plain("true", 5)));
    }

    #[test]
    fn a_plain_parameter_made_secret_later_gets_the_version_the_run_meets() {
        // Both steps read version 3 live; the first writes version 4, so the second writes 5.
        let mut steps = vec![
            step(
                "plain",
                vec![change(
                    Action::Modify,
                    "/a/TOKEN",
                    Some(plain("old", 3)),
                    Some(plain("new", 4)),
                )],
            ),
            step(
                "secure",
                vec![change(
                    Action::Modify,
                    "/a/TOKEN",
                    Some(plain("old", 3)),
                    Some(secret("s3cret", 4)),
                )],
            ),
        ];
        predict(&mut steps);
        let second = &steps[1].changes[0];
        assert_eq!(second.action, Action::Modify);
        assert_eq!(second.before, Some(plain("new", 4)));
        assert_eq!(version(&second.after), Some(5));
    }

    #[test]
    fn a_secret_written_again_or_back_gets_the_right_version() {
        let write = |live: &str, value: &str, action| {
            change(
                action,
                "/a/PASSWORD",
                Some(secret(live, 1)),
                Some(secret(value, 1 + i64::from(action == Action::Modify))),
            )
        };
        let mut steps = vec![
            step("one", vec![write("old", "new", Action::Modify)]),
            // The same value again: nothing to change.
            step("two", vec![write("old", "new", Action::Modify)]),
            // Back to the live value: unchanged on live state, but a write after `one`.
            step("three", vec![write("old", "old", Action::Keep)]),
        ];
        predict(&mut steps);
        assert_eq!(steps[1].changes[0].action, Action::Keep);
        assert_eq!(version(&steps[1].changes[0].after), Some(2));
        let back = &steps[2].changes[0];
        assert_eq!(back.action, Action::Modify);
        assert_eq!(version(&back.before), Some(2));
        assert_eq!(version(&back.after), Some(3));
    }

    #[test]
    fn keys_of_one_env_file_share_its_versions() {
        let key = |k: &str, action, before: &str, after: &str| Change {
            action,
            resource: Resource::EnvKey {
                parameter: "/a/env".into(),
                key: k.into(),
            },
            before: Some(Value::EnvKey(Secretish::secret(7, &[before]))),
            after: Some(Value::EnvKey(Secretish::secret(
                7 + i64::from(action != Action::Keep),
                &[after],
            ))),
        };
        let mut steps = vec![
            step("first", vec![key("A", Action::Modify, "a0", "a1")]),
            step(
                "second",
                vec![
                    key("B", Action::Modify, "b0", "b1"),
                    key("C", Action::Keep, "c0", "c0"),
                ],
            ),
            // A again, after B was written under another key of the same file.
            step("third", vec![key("A", Action::Modify, "a0", "a2")]),
        ];
        predict(&mut steps);
        let second = &steps[1].changes;
        assert_eq!(version(&second[0].before), Some(8));
        assert_eq!(version(&second[0].after), Some(9));
        assert_eq!(version(&second[1].after), Some(8));
        let third = &steps[2].changes[0];
        assert_eq!(
            (version(&third.before), version(&third.after)),
            (Some(9), Some(10))
        );
    }

    #[test]
    fn a_write_keeps_the_attributes_it_does_not_set_as_an_earlier_step_leaves_them() {
        let described = |value: &str, version, description: Option<&str>, given: Option<Attrs>| {
            Value::Parameter(ParamValue {
                held: Secretish::plain(value, version),
                ptype: "String".into(),
                attrs: Attrs {
                    description: description.map(str::to_owned),
                    ..Default::default()
                },
                given,
            })
        };
        let copied = Attrs {
            description: Some("from prod".into()),
            ..Default::default()
        };
        let mut steps = vec![
            step(
                "copy",
                vec![change(
                    Action::Modify,
                    "/a/X",
                    Some(described("s", 1, None, None)),
                    Some(described("p", 2, Some("from prod"), Some(copied))),
                )],
            ),
            step(
                "put",
                vec![change(
                    Action::Modify,
                    "/a/X",
                    Some(described("s", 1, None, None)),
                    Some(described("q", 2, None, Some(Attrs::default()))),
                )],
            ),
        ];
        predict(&mut steps);
        assert_eq!(
            steps[1].changes[0].after,
            Some(described("q", 3, Some("from prod"), None))
        );
    }

    #[test]
    fn differences_name_each_resource() {
        let planned = step(
            "s",
            vec![change(
                Action::Modify,
                "/a/X",
                Some(plain("1", 1)),
                Some(plain("2", 2)),
            )],
        );
        assert!(differences(&planned.changes, &planned.changes).is_empty());
        let now = [change(
            Action::Modify,
            "/a/X",
            Some(plain("5", 1)),
            Some(plain("2", 2)),
        )];
        assert_eq!(
            differences(&planned.changes, &now),
            ["/a/X: planned ~ 1 → 2, now ~ 5 → 2"]
        );
        assert_eq!(
            differences(&planned.changes, &[]),
            ["/a/X: planned ~ 1 → 2, now not touched"]
        );
    }
}
