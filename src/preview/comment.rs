//! The one pull-request comment per preview environment: found by a hidden marker, edited in
//! place on every push (a row per app: URL, commit, health, time), and edited once more when
//! the preview is torn down. Never a new comment per push.
//!
//! The rows live in the comment itself (a JSON block inside an HTML comment), so jobs that
//! bring apps up one at a time (a matrix) each update their own row and keep the others'.

use crate::github::{Comment, GitHub, GithubError, MAX_COMMENT};
use serde::{Deserialize, Serialize};

/// What the comment's hidden block begins with.
const MARKER: &str = "<!-- stage-gate:preview";

/// The longest detail a row keeps.
const DETAIL: usize = 300;

/// One app's line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub app: String,
    pub url: Option<String>,
    pub sha: String,
    /// `healthy`, `unhealthy`, `deployed` (no probes), `failed`, `refused`, `removed`.
    pub state: String,
    /// The health headline, the failure, or what was removed.
    pub detail: String,
    /// When (UTC, RFC 3339).
    pub at: String,
}

/// Everything the comment shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub environment: String,
    pub pr: u64,
    pub rows: Vec<Row>,
    /// Set when the preview was torn down: why.
    pub removed: Option<String>,
}

impl State {
    pub fn new(environment: &str, pr: u64) -> State {
        State {
            environment: environment.to_string(),
            pr,
            rows: Vec::new(),
            removed: None,
        }
    }

    /// Replace the app's row (or add it), keeping the others. A detail is kept short: the
    /// comment is for people, and GitHub refuses a body over 65,536 characters.
    pub fn put(&mut self, mut row: Row) {
        if row.detail.chars().count() > DETAIL {
            row.detail = format!(
                "{}…",
                row.detail.chars().take(DETAIL - 1).collect::<String>()
            );
        }
        match self.rows.iter_mut().find(|r| r.app == row.app) {
            Some(slot) => *slot = row,
            None => self.rows.push(row),
        }
        self.rows.sort_by(|a, b| a.app.cmp(&b.app));
    }
}

fn marker_of(environment: &str) -> String {
    format!("{MARKER} {environment} ")
}

/// The state a comment body carries, when it is ours for `environment`.
pub fn parse(body: &str, environment: &str) -> Option<State> {
    let start = body.find(&marker_of(environment))? + marker_of(environment).len();
    let end = body[start..].find("-->")? + start;
    let state: State = serde_json::from_str(body[start..end].trim()).ok()?;
    // Anyone can post text; only a state whose commits are commits is read as ours.
    let commits = state
        .rows
        .iter()
        .all(|r| r.sha.bytes().all(|b| b.is_ascii_hexdigit()));
    commits.then_some(state)
}

/// The Markdown of the comment.
pub fn render(state: &State, run_url: Option<&str>, ttl: &str) -> String {
    let mut md = String::new();
    match &state.removed {
        None => md.push_str(&format!(
            "### Preview of #{} (`{}`)\n\n",
            state.pr, state.environment
        )),
        Some(why) => md.push_str(&format!(
            "### Preview of #{} (`{}`): torn down\n\n{why}\n\n",
            state.pr, state.environment
        )),
    }
    md.push_str("| app | preview | commit | state | updated |\n|---|---|---|---|---|\n");
    for r in &state.rows {
        let link = match (&r.url, r.state.as_str()) {
            (_, "removed") => "—".to_string(),
            (Some(u), _) => format!("[{}]({u})", u.trim_start_matches("https://")),
            (None, _) => "—".to_string(),
        };
        let icon = match r.state.as_str() {
            "healthy" | "deployed" => "✅",
            "removed" => "🗑️",
            _ => "❌",
        };
        let said = if r.detail.starts_with(&r.state) {
            cell(&r.detail)
        } else {
            format!("{}: {}", r.state, cell(&r.detail))
        };
        md.push_str(&format!(
            "| {} | {link} | `{}` | {icon} {said} | {} |\n",
            cell(&r.app),
            crate::git::abbrev(&r.sha, 7),
            r.at.get(..16).unwrap_or(&r.at).replace('T', " ")
        ));
    }
    if state
        .rows
        .iter()
        .any(|r| r.state == "unhealthy" || r.state == "failed")
    {
        md.push_str(
            "\nA failed preview is left running for debugging; the next push replaces it.\n",
        );
    }
    let by = match run_url {
        Some(u) => format!("[this run]({u})"),
        None => "a local run".to_string(),
    };
    if state.removed.is_none() {
        md.push_str(&format!(
            "\n<sub>Updated by stage-gate in {by}. Torn down when the pull request closes, or after {ttl} without a deploy.</sub>\n"
        ));
    } else {
        md.push_str(&format!("\n<sub>Updated by stage-gate in {by}.</sub>\n"));
    }
    // `>` cannot end the HTML comment early: JSON may escape it.
    let json = serde_json::to_string(state)
        .unwrap_or_default()
        .replace('>', "\\u003e");
    md.push_str(&format!("\n{}{json} -->\n", marker_of(&state.environment)));
    if md.chars().count() > MAX_COMMENT {
        // Only a pathological number of apps gets here: keep the state, lose the table.
        md = format!(
            "### Preview of #{} (`{}`)\n\nToo many apps to list here; see the run's summary.\n\n{}{json} -->\n",
            state.pr,
            state.environment,
            marker_of(&state.environment)
        );
    }
    md
}

/// Cell text: one line, no pipes.
fn cell(s: &str) -> String {
    let one = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    if one.chars().count() > 200 {
        format!("{}…", one.chars().take(199).collect::<String>())
    } else {
        one
    }
}

/// Our comment for `environment` on pull request `pr`: a bot's first, else anyone's.
async fn find(
    gh: &GitHub,
    pr: u64,
    environment: &str,
) -> Result<Option<(Comment, State)>, GithubError> {
    let comments = gh.list_comments(pr).await?;
    let ours = |c: &Comment| {
        let state = parse(c.body.as_deref()?, environment)?;
        Some((c.clone(), state))
    };
    let is_bot = |c: &Comment| c.user.as_ref().is_some_and(|u| u.login.ends_with("[bot]"));
    Ok(comments
        .iter()
        .filter(|c| is_bot(c))
        .find_map(ours)
        .or_else(|| comments.iter().find_map(ours)))
}

/// Edit the comment (or create it, when `create` and there is none) with `change` applied
/// to its state; `body_of` renders. Answers the comment, None when there was none to edit.
pub async fn upsert(
    gh: &GitHub,
    pr: u64,
    environment: &str,
    create: bool,
    change: impl Fn(&mut State),
    body_of: impl Fn(&State) -> String,
) -> Result<Option<Comment>, GithubError> {
    if let Some((comment, mut state)) = find(gh, pr, environment).await? {
        change(&mut state);
        match gh.edit_comment(comment.id, &body_of(&state)).await {
            Ok(c) => return Ok(Some(c)),
            // Someone else's comment carrying our marker: leave it, write our own.
            Err(e) if matches!(e.status(), Some(403) | Some(404)) && create => {}
            Err(e) => return Err(e),
        }
    }
    if !create {
        return Ok(None);
    }
    let mut state = State::new(environment, pr);
    change(&mut state);
    match gh.create_comment(pr, &body_of(&state)).await {
        Ok(c) => Ok(Some(c)),
        // The answer was lost, maybe after GitHub made the comment: look, never post twice.
        Err(e) if e.is_ambiguous() => match find(gh, pr, environment).await? {
            Some((comment, _)) => gh
                .edit_comment(comment.id, &body_of(&state))
                .await
                .map(Some),
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(app: &str, state: &str) -> Row {
        Row {
            app: app.into(),
            url: Some(format!("https://{app}-pr-7.fly.dev")),
            sha: "0123456789abcdef".into(),
            state: state.into(),
            detail: "a --> b | c".into(),
            at: "2026-12-07T09:10:11Z".into(),
        }
    }

    #[test]
    fn the_state_survives_the_round_trip_through_the_comment() {
        let mut s = State::new("preview", 7);
        s.put(row("web", "healthy"));
        s.put(row("api", "unhealthy"));
        s.put(row("web", "deployed"));
        let body = render(
            &s,
            Some("https://github.com/acme/shop/actions/runs/1"),
            "7d",
        );
        assert_eq!(parse(&body, "preview"), Some(s.clone()));
        assert_eq!(parse(&body, "other"), None);
        assert_eq!(
            s.rows.iter().map(|r| r.app.as_str()).collect::<Vec<_>>(),
            ["api", "web"]
        );
        assert!(body.contains("| web | [web-pr-7.fly.dev](https://web-pr-7.fly.dev) | `0123456` | ✅ deployed: a --> b \\| c | 2026-12-07 09:10 |"), "{body}");
        assert!(body.contains("left running for debugging"));
    }
}

#[cfg(test)]
mod hostile_tests {
    use super::*;

    #[test]
    fn a_forged_state_is_not_ours_and_long_text_is_cut_on_characters() {
        let forged = format!(
            "{} preview {{\"environment\":\"preview\",\"pr\":7,\"rows\":[{{\"app\":\"x\",\"url\":null,\"sha\":\"ééééé\",\"state\":\"healthy\",\"detail\":\"\",\"at\":\"\"}}],\"removed\":null}} -->",
            MARKER
        );
        assert_eq!(parse(&forged, "preview"), None);
        let mut s = State::new("preview", 7);
        s.put(Row {
            app: "web".into(),
            url: None,
            sha: "é".into(),
            state: "failed".into(),
            detail: "✅".repeat(70_000),
            at: "2026-12-07T09:00:00Z".into(),
        });
        assert_eq!(s.rows[0].detail.chars().count(), DETAIL);
        let body = render(&s, None, "7 days");
        assert!(body.chars().count() <= MAX_COMMENT);
    }
}
