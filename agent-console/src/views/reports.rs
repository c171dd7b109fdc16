//! Reports: first response, queue wait, chat duration, missed chats, CSAT and chats per day —
//! per day, agent or department over a date range in the site's time zone — as SVG charts and
//! a table, with the CSV the server writes. Every figure is the server's (computed from stored
//! events); this view only draws them.

use bellhop_protocol::console::{Report, ReportGroup, ReportRow};
use leptos::prelude::*;

use crate::api;
use crate::model;
use crate::state::ctx;

/// `YYYY-MM-DD` of a date `days` before today, by the browser's clock.
fn date_before(days: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        (crate::now() - days * 86_400_000) as f64,
    ));
    format!(
        "{:04}-{:02}-{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date()
    )
}

fn ms(value: Option<u64>) -> String {
    value.map_or_else(|| "—".into(), |v| model::clock(v as i64))
}

/// A bar chart of one figure over the rows, as SVG (bars' heights scaled to the largest).
fn chart(
    title: String,
    rows: &[ReportRow],
    value: fn(&ReportRow) -> f64,
    label: fn(f64) -> String,
) -> impl IntoView {
    let values: Vec<f64> = rows.iter().map(value).collect();
    let max = values.iter().copied().fold(0.0_f64, f64::max).max(1.0);
    let width = 640.0;
    let height = 160.0;
    let step = width / values.len().max(1) as f64;
    let bars = rows
        .iter()
        .zip(values)
        .enumerate()
        .map(|(i, (row, v))| {
            let h = v / max * (height - 30.0);
            let x = i as f64 * step + step * 0.15;
            let w = step * 0.7;
            let y = height - 18.0 - h;
            let tip = format!("{}: {}", row.label, label(v));
            let short: String = row.label.chars().take(10).collect();
            view! {
                <g>
                    <rect x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{w:.1}") height=format!("{h:.1}") rx="2"><title>{tip}</title></rect>
                    <text x=format!("{:.1}", x + w / 2.0) y=format!("{height:.0}") text-anchor="middle" class="axis">{short}</text>
                    <text x=format!("{:.1}", x + w / 2.0) y=format!("{:.1}", (y - 3.0).max(10.0)) text-anchor="middle" class="value">{label(v)}</text>
                </g>
            }
        })
        .collect_view();
    let aria = title.clone();
    view! {
        <figure class="chart">
            <figcaption>{title}</figcaption>
            <svg viewBox=format!("0 0 {width} {height}") role="img" aria-label=aria>{bars}</svg>
        </figure>
    }
}

#[component]
pub fn ReportsView() -> impl IntoView {
    let ctx = ctx();
    let site = RwSignal::new(String::new());
    let from = RwSignal::new(date_before(6));
    let to = RwSignal::new(date_before(0));
    let group = RwSignal::new(ReportGroup::Day);
    let report = RwSignal::new(None::<Result<Report, String>>);
    let query = move || {
        let site = site.get();
        let site = if site.is_empty() {
            ctx.sites
                .with(|s| {
                    s.as_ref()
                        .and_then(|s| s.sites.first().map(|x| x.id.to_string()))
                })
                .unwrap_or_default()
        } else {
            site
        };
        format!(
            "site={site}&from={}&to={}&group={}",
            from.get(),
            to.get(),
            group.get().as_str()
        )
    };
    Effect::new(move |_| {
        // A run queued when the agent left the view finds its filters gone.
        if site.try_with(|_| ()).is_none() {
            return;
        }
        let q = query();
        leptos::task::spawn_local(async move {
            let answer = api::get::<Report>(&format!("/api/v1/reports?{q}"))
                .await
                .map_err(|e| e.message);
            report.set(Some(answer));
        });
    });
    let csv = move || format!("/api/v1/reports.csv?{}", query());
    view! {
        <main class="page reports">
            <h1>{move || ctx.t("nav_reports")}</h1>
            <form class="filters" on:submit=|e| e.prevent_default() aria-label=move || ctx.t("filters")>
                <label>{move || ctx.t("site")}
                    <select on:change=move |e| site.set(event_target_value(&e))>
                        {move || ctx.sites.with(|s| s.as_ref().map(|s| s.sites.clone()).unwrap_or_default()).into_iter().map(|s| view! { <option value=s.id.to_string()>{s.name}</option> }).collect_view()}
                    </select>
                </label>
                <label>{move || ctx.t("from_date")}<input type="date" prop:value=move || from.get() on:change=move |e| from.set(event_target_value(&e))/></label>
                <label>{move || ctx.t("to_date")}<input type="date" prop:value=move || to.get() on:change=move |e| to.set(event_target_value(&e))/></label>
                <label>{move || ctx.t("group_by")}
                    <select on:change=move |e| group.set(ReportGroup::parse(&event_target_value(&e)).unwrap_or_default())>
                        <option value="day">{move || ctx.t("by_day")}</option>
                        <option value="agent">{move || ctx.t("by_agent")}</option>
                        <option value="department">{move || ctx.t("by_department")}</option>
                    </select>
                </label>
                <a class="button" href=csv download="report.csv">{move || ctx.t("download_csv")}</a>
            </form>
            {move || match report.get() {
                None => view! { <p class="empty">{move || ctx.t("loading")}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Some(Ok(r)) => {
                    let total = r.total.clone();
                    view! {
                        <p class="last">{format!("{} · {} – {} · {}", ctx.site_name(r.site_id), r.from, r.to, r.time_zone)}</p>
                        <div class="cards">
                            <div class="card"><div class="figure">{total.chats}</div><div class="label">{ctx.t("chats")}</div></div>
                            <div class="card"><div class="figure">{total.missed}</div><div class="label">{ctx.t("missed")}</div></div>
                            <div class="card"><div class="figure">{ms(total.avg_first_response_ms)}</div><div class="label">{ctx.t("avg_first_response")}</div></div>
                            <div class="card"><div class="figure">{ms(total.avg_queue_wait_ms)}</div><div class="label">{ctx.t("avg_queue_wait")}</div></div>
                            <div class="card"><div class="figure">{ms(total.avg_duration_ms)}</div><div class="label">{ctx.t("avg_duration")}</div></div>
                            <div class="card"><div class="figure">{total.csat_average.map(|c| format!("{c:.2}")).unwrap_or_else(|| "—".into())}</div><div class="label">{format!("CSAT ({})", total.ratings)}</div></div>
                        </div>
                        <div class="charts">
                            {chart(ctx.t("chats").to_owned(), &r.rows, |x| f64::from(x.chats), |v| format!("{v:.0}"))}
                            {chart(ctx.t("avg_first_response").to_owned(), &r.rows, |x| x.avg_first_response_ms.unwrap_or(0) as f64, |v| model::clock(v as i64))}
                            {chart(ctx.t("missed").to_owned(), &r.rows, |x| f64::from(x.missed), |v| format!("{v:.0}"))}
                        </div>
                        <table class="report">
                            <thead><tr>
                                <th scope="col">{ctx.t(match r.group { ReportGroup::Day => "date", ReportGroup::Agent => "agent", ReportGroup::Department => "department" })}</th>
                                <th scope="col" class="num">{ctx.t("chats")}</th><th scope="col" class="num">{ctx.t("missed")}</th>
                                <th scope="col" class="num">{ctx.t("avg_first_response")}</th><th scope="col" class="num">{ctx.t("avg_queue_wait")}</th>
                                <th scope="col" class="num">{ctx.t("avg_duration")}</th><th scope="col" class="num">"CSAT"</th>
                            </tr></thead>
                            <tbody>{r.rows.iter().chain(std::iter::once(&r.total)).map(|row| view! {
                                <tr data-key=row.key.clone()>
                                    <th scope="row">{row.label.clone()}</th>
                                    <td class="num">{row.chats}</td><td class="num">{row.missed}</td>
                                    <td class="num">{ms(row.avg_first_response_ms)}</td><td class="num">{ms(row.avg_queue_wait_ms)}</td>
                                    <td class="num">{ms(row.avg_duration_ms)}</td>
                                    <td class="num">{row.csat_average.map(|c| format!("{c:.2} ({})", row.ratings)).unwrap_or_else(|| "—".into())}</td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any()
                }
            }}
        </main>
    }
}
