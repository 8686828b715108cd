//! The HTML report as a browser draws it: headless Chromium screenshots a rendered page and the
//! test counts the pixels of the chart colours, so what is checked is what a person sees, not
//! the HTML text. The colours are read from src/report/html/mod.rs's consts, which are drawn
//! with crisp edges and used nowhere else on the page.
//!
//! Needs Debian's `chromium` (`apt-get install -y chromium`; .ci/run installs it). Without it the
//! test fails, unless `STANDIN_NO_BROWSER=1` says to skip it. `STANDIN_KEEP_SCREENSHOT=FILE.png`
//! keeps the screenshot (and the page, as FILE.html) to look at.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::repo;
use standin::report::document::RunReport;
use standin::report::ReportFormat;

/// What the screenshot must show.
pub struct Expect {
    /// Step bars (STEP_FILL or FAILED_FILL): one horizontal band of rows each.
    pub step_bars: usize,
    /// Whether undo bars (UNDO_FILL) are drawn.
    pub undo: bool,
    /// Whether the recovery marker (RECOVERY_STROKE) is drawn: a vertical line.
    pub recovery_marker: bool,
    /// Whether the marker of clients' recovery (CLIENTS_STROKE) is drawn: a vertical line.
    pub clients_marker: bool,
    /// Bars of the trend chart (TREND_FILL or TREND_CURRENT_FILL, drills with a recovery
    /// time): one vertical band of columns each.
    pub trend_points: usize,
}

/// The browser's viewport: what the screenshot holds.
const WINDOW: (u32, u32) = (1200, 1600);
/// A screenshot that takes longer has hung.
const TIMEOUT: Duration = Duration::from_secs(90);
/// A drawn colour may differ from its value by this much per channel (colour management).
const TOLERANCE: u8 = 3;

/// A chart colour of src/report/html/mod.rs (`pub const NAME: &str = "#rrggbb";`).
fn colour(name: &str) -> [u8; 3] {
    let source = std::fs::read_to_string(repo().join("src/report/html/mod.rs")).unwrap();
    let prefix = format!("pub const {name}: &str = \"#");
    let at = source
        .find(&prefix)
        .unwrap_or_else(|| panic!("src/report/html/mod.rs has no `{prefix}`"))
        + prefix.len();
    let hex = &source[at..at + 6];
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap();
    [byte(0), byte(2), byte(4)]
}

/// A screenshot, as RGB rows.
struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Image {
    fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    fn is(&self, x: usize, y: usize, colours: &[[u8; 3]]) -> bool {
        let p = self.pixel(x, y);
        colours
            .iter()
            .any(|c| (0..3).all(|i| p[i].abs_diff(c[i]) <= TOLERANCE))
    }

    /// How many pixels have one of the colours.
    fn count(&self, colours: &[[u8; 3]]) -> usize {
        (0..self.height)
            .flat_map(|y| (0..self.width).map(move |x| (x, y)))
            .filter(|&(x, y)| self.is(x, y, colours))
            .count()
    }

    /// The runs of consecutive rows (`by_rows`) or columns holding at least one pixel of the
    /// colours: (first, length) each.
    fn bands(&self, colours: &[[u8; 3]], by_rows: bool) -> Vec<(usize, usize)> {
        let (lines, across) = if by_rows {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        };
        let mut bands: Vec<(usize, usize)> = Vec::new();
        let mut previous = false;
        for line in 0..lines {
            let hit = (0..across).any(|a| {
                let (x, y) = if by_rows { (a, line) } else { (line, a) };
                self.is(x, y, colours)
            });
            match (hit, previous) {
                (true, false) => bands.push((line, 1)),
                (true, true) => bands.last_mut().unwrap().1 += 1,
                _ => {}
            }
            previous = hit;
        }
        bands
    }

    /// The longest vertical run of pixels of the colour in one column: (column, length).
    fn longest_vertical(&self, colour: [u8; 3]) -> (usize, usize) {
        let mut best = (0, 0);
        for x in 0..self.width {
            let mut run = 0;
            for y in 0..self.height {
                run = if self.is(x, y, &[colour]) { run + 1 } else { 0 };
                if run > best.1 {
                    best = (x, run);
                }
            }
        }
        best
    }
}

/// `chromium` on the PATH.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
}

/// Whether `STANDIN_NO_BROWSER=1` says to skip what needs a browser.
fn skipped() -> bool {
    let skip = std::env::var("STANDIN_NO_BROWSER").is_ok_and(|v| v == "1");
    if skip {
        eprintln!("note: STANDIN_NO_BROWSER=1: not checking how the HTML report is drawn");
    }
    skip
}

/// Headless Chromium on `html` with `what` (`--screenshot=...`, `--dump-dom`): its stdout.
fn chromium_on(html: &Path, what: &str, profile: &Path) -> String {
    let Some(chromium) = chromium() else {
        panic!(
            "the HTML report test needs a browser: install Debian's chromium \
             (`apt-get update && apt-get install -y chromium`), or set STANDIN_NO_BROWSER=1 to skip it"
        );
    };
    let html = html.canonicalize().unwrap();
    let started = Instant::now();
    let mut child = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            // Colours as written, whatever the machine's display profile.
            "--force-color-profile=srgb",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={},{}", WINDOW.0, WINDOW.1))
        .arg(what)
        .arg(format!("file://{}", html.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", chromium.display()));
    // Read its output on threads so that a chatty browser never blocks on a full pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium took over {TIMEOUT:?} on {}", html.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(
        status.success(),
        "chromium ({status}) failed {what}\nstdout:\n{out}\nstderr:\n{err}"
    );
    eprintln!(
        "chromium did {what} on {} in {:.1}s",
        html.display(),
        started.elapsed().as_secs_f64()
    );
    out
}

/// The page as headless Chromium draws it, or `None` when `STANDIN_NO_BROWSER=1` says to skip.
fn screenshot(html: &Path) -> Option<Image> {
    if skipped() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("report.png");
    chromium_on(
        html,
        &format!("--screenshot={}", png.display()),
        &dir.path().join("profile"),
    );
    assert!(
        png.is_file(),
        "chromium wrote no screenshot of {}",
        html.display()
    );
    // To look at it: STANDIN_KEEP_SCREENSHOT=/tmp/report.png
    if let Some(keep) = std::env::var_os("STANDIN_KEEP_SCREENSHOT") {
        std::fs::copy(&png, &keep).unwrap();
        let _ = std::fs::copy(html, PathBuf::from(keep).with_extension("html"));
    }
    Some(decode(&png))
}

/// The texts of the page's charts that the browser draws (partly) outside their drawing,
/// where they are cut off: measured by Chromium itself (a script added to a copy of the page,
/// which has none of its own), as `text: left..right outside 0..width`.
fn clipped_texts(html: &Path) -> Option<Vec<String>> {
    if skipped() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let measured = dir.path().join("measured.html");
    let script = r#"<script>
document.addEventListener('DOMContentLoaded', () => {
  const out = [];
  for (const svg of document.querySelectorAll('svg')) {
    const box = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (r.width > 0 && (r.left < box.left - 0.5 || r.right > box.right + 0.5)) {
        out.push(t.textContent + ': ' + r.left.toFixed(1) + '..' + r.right.toFixed(1)
                 + ' outside ' + box.left.toFixed(1) + '..' + box.right.toFixed(1));
      }
    }
  }
  const pre = document.createElement('pre');
  pre.id = 'clipped';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"#;
    // The page forbids scripts (its Content-Security-Policy); the measuring copy allows its own.
    let page = std::fs::read_to_string(html).unwrap().replacen(
        "default-src 'none';",
        "default-src 'none'; script-src 'unsafe-inline';",
        1,
    );
    std::fs::write(
        &measured,
        page.replacen("</head>", &format!("{script}</head>"), 1),
    )
    .unwrap();
    let dom = chromium_on(&measured, "--dump-dom", &dir.path().join("profile"));
    let json = dom
        .split("<pre id=\"clipped\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("the measuring script did not run:\n{dom}"));
    let json = json
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    Some(serde_json::from_str(&json).expect("the script's JSON"))
}

/// A PNG file as RGB.
fn decode(path: &Path) -> Image {
    let mut decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Indexed => unreachable!("EXPAND turns a palette into RGB"),
    };
    let (width, height) = (info.width as usize, info.height as usize);
    let mut rgb = Vec::with_capacity(width * height * 3);
    for row in buffer[..info.buffer_size()].chunks(info.line_size) {
        for px in row[..width * channels].chunks(channels) {
            if channels < 3 {
                rgb.extend([px[0]; 3]);
            } else {
                rgb.extend(&px[..3]);
            }
        }
    }
    Image { width, height, rgb }
}

/// Screenshots the page at `html` and checks that it draws what `expect` says.
pub fn assert_drawn(html: &Path, expect: &Expect) {
    let Some(image) = screenshot(html) else {
        return;
    };
    let keep = || {
        let copy = std::env::temp_dir().join("standin-report-html-failure.png");
        let _ = std::fs::write(&copy, png_of(&image));
        format!("(screenshot kept at {})", copy.display())
    };
    assert_eq!(
        (image.width, image.height),
        (WINDOW.0 as usize, WINDOW.1 as usize),
        "the screenshot is the window's size"
    );
    // Step bars: one band of rows each, as tall as a bar (18px), with gaps between them.
    let steps = [colour("STEP_FILL"), colour("FAILED_FILL")];
    let bands = image.bands(&steps, true);
    assert_eq!(
        bands.len(),
        expect.step_bars,
        "step bars drawn (first row, height): {bands:?} {}",
        keep()
    );
    for &(row, height) in &bands {
        assert!(
            (14..=22).contains(&height),
            "a step bar at row {row} is {height}px tall, not a bar's 18px {}",
            keep()
        );
    }
    // Undo bars.
    let undo = image.count(&[colour("UNDO_FILL")]);
    assert_eq!(
        undo > 0,
        expect.undo,
        "{undo} pixels of undo bars {}",
        keep()
    );
    // The markers of recovery (the gate's pass) and of clients' recovery (DNS caches
    // included): each a vertical line across the rows, below its label.
    for (name, stroke, drawn) in [
        ("recovery", "RECOVERY_STROKE", expect.recovery_marker),
        ("clients'", "CLIENTS_STROKE", expect.clients_marker),
    ] {
        let (column, length) = image.longest_vertical(colour(stroke));
        let across = expect.step_bars * 28;
        if drawn {
            assert!(
                length >= across.max(40),
                "the {name} marker's longest vertical run is {length}px (column {column}), \
                 shorter than the {} step rows {}",
                expect.step_bars,
                keep()
            );
            // It crosses the step rows.
            if let (Some(first), Some(last)) = (bands.first(), bands.last()) {
                let top = (0..image.height)
                    .find(|&y| image.is(column, y, &[colour(stroke)]))
                    .unwrap();
                assert!(
                    top <= first.0 && top + length >= last.0 + last.1,
                    "the {name} marker (rows {top}..{}) does not cross the step bars {bands:?} {}",
                    top + length,
                    keep()
                );
            }
        } else {
            assert!(
                length < 10,
                "a {name} marker is drawn ({length}px at column {column}) {}",
                keep()
            );
        }
    }
    // The trend: one band of columns per drill with a recovery time.
    let trend = [colour("TREND_FILL"), colour("TREND_CURRENT_FILL")];
    let columns = image.bands(&trend, false);
    assert_eq!(
        columns.len(),
        expect.trend_points,
        "trend bars drawn (first column, width): {columns:?} {}",
        keep()
    );
    assert!(
        image.bands(&[colour("TREND_CURRENT_FILL")], false).len() <= 1,
        "more than one drill is highlighted as this one {}",
        keep()
    );
}

/// An image as PNG, to keep the screenshot of a failure.
fn png_of(image: &Image) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, image.width as u32, image.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&image.rgb).unwrap();
    }
    bytes
}

/// A drill: four steps ran (the third failed), one was not reached, a soak, three undos, a
/// recovery marker and clients' (a TTL of 60 s later), an RTO target, and two earlier drills
/// (one without a recovery time).
fn drill() -> RunReport {
    serde_json::from_value(serde_json::json!({
        "report_format": 2,
        "run_id": "r-20240601-0900",
        "kind": "drill",
        "playbook": "promote-staging",
        "file": "playbooks/promote.yaml",
        "by": "ana <script>alert(1)</script>",
        "started": "2024-06-01T09:00:00Z",
        "ended": "2024-06-01T09:04:10Z",
        "outcome": "step-failed",
        "exit_code": 3,
        "reason": "step `warm-cache` failed: 503 from https://staging.example.com/health",
        "recovery": {"gate": "prod-healthy", "secs": 48.0, "clients_secs": 108.0,
                     "cached": {"record": "app.example.com. CNAME", "within_secs": 60, "why": "ttl"},
                     "target_secs": 90.0, "met": false},
        "timings": {"total_secs": 250.0, "steps_secs": 75.0, "dns_wait_secs": 40.0, "restore_secs": 30.0},
        "steps": [
            {"id": "freeze-writes", "kind": "ssm.put", "state": "undone", "start_secs": 0.0, "secs": 4.0,
             "changes": [{"sign": "~", "resource": "ssm:/app/mode", "before": "rw", "after": "ro"}]},
            {"id": "repoint-dns", "kind": "route53.repoint", "state": "undone", "start_secs": 4.0, "secs": 40.0,
             "changes": [{"sign": "~", "resource": "route53:app.example.com A", "before": "10.0.0.1", "after": "10.0.1.1"}]},
            {"id": "prod-healthy", "kind": "http.check", "state": "unchanged", "start_secs": 44.0, "secs": 4.0, "changes": []},
            {"id": "warm-cache", "kind": "http.check", "state": "failed", "start_secs": 48.0, "secs": 27.0,
             "error": "503 from https://staging.example.com/health", "changes": []},
            {"id": "unfreeze", "kind": "ssm.put", "state": "not-started", "changes": []}
        ],
        "undo": [
            {"step": "warm-cache", "start_secs": 75.0, "secs": 1.0, "restored": []},
            {"step": "repoint-dns", "start_secs": 76.0, "secs": 25.0, "restored": ["route53:app.example.com A → 10.0.0.1"]},
            {"step": "freeze-writes", "start_secs": 101.0, "secs": 3.0, "restored": ["ssm:/app/mode → rw"]}
        ],
        "verify": {"checked": 2, "differences": []},
        "warnings": ["the TTL of app.example.com is 300s: clients may take 5m to follow"],
        "trend": [
            {"run_id": "r-20240401-0900", "started": "2024-04-01T09:00:00Z", "outcome": "missed-rto", "recovery_secs": 120.0},
            {"run_id": "r-20240415-0900", "started": "2024-04-15T09:00:00Z", "outcome": "step-failed"},
            {"run_id": "r-20240501-0900", "started": "2024-05-01T09:00:00Z", "outcome": "passed", "recovery_secs": 70.0},
            {"run_id": "r-20240601-0900", "started": "2024-06-01T09:00:00Z", "outcome": "step-failed", "recovery_secs": 48.0, "clients_secs": 108.0}
        ]
    }))
    .expect("a report document")
}

#[test]
fn the_html_report_draws_its_timeline_and_trend() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    std::fs::write(&html, ReportFormat::Html.render(&drill())).unwrap();
    assert_drawn(
        &html,
        &Expect {
            step_bars: 4,
            undo: true,
            recovery_marker: true,
            clients_marker: true,
            trend_points: 3,
        },
    );
}

/// Every text of the timeline is drawn whole: the text after a bar that ends at the chart's
/// right edge (a long soak, a failed undo) goes before the bar instead of off the drawing.
#[test]
fn no_text_of_the_timeline_is_cut_off() {
    let mut report = drill();
    report.soak = Some(standin::report::document::Soak {
        start_secs: 110.0,
        secs: 140.0,
        checks: 4812,
        broken: Some("gate `prod-healthy` failed 2m 20s into the soak: 503".into()),
        stopped: false,
    });
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    std::fs::write(&html, ReportFormat::Html.render(&report)).unwrap();
    if let Some(clipped) = clipped_texts(&html) {
        assert_eq!(
            clipped,
            Vec::<String>::new(),
            "texts cut off by the drawing's edge"
        );
    }
}
