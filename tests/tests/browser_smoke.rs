//! The browser-test harness itself: Chromium starts under playwright-core, runs a page, takes
//! a screenshot, and axe-core and the long-task observer work in it.

use bellhop_tests::browser::run_scenario;

#[test]
fn chromium_renders_and_screenshots_a_page() {
    let result = run_scenario("smoke.mjs", &[]);
    assert_eq!(result["title"], "Bellhop browser smoke", "{result}");
    assert_eq!(
        result["script_ran"], true,
        "the page's script ran: {result}"
    );
    assert!(
        result["browser"].as_str().is_some_and(|v| !v.is_empty()),
        "the browser's version: {result}"
    );
    assert!(
        result["long_tasks"].is_u64(),
        "the long-task observer was installed before the page's scripts: {result}"
    );
    assert_eq!(
        result["axe_violations"],
        serde_json::json!([]),
        "axe-core ran and found nothing on the page: {result}"
    );
    let screenshot = result["screenshot"]
        .as_str()
        .expect("the screenshot's path");
    let png = std::fs::read(screenshot).unwrap_or_else(|e| panic!("reading {screenshot}: {e}"));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000,
        "{screenshot} is a PNG of the page ({} bytes)",
        png.len()
    );
}
