//! Leads: turning a submitted form into a lead (validated against the site's form), reading
//! UTM parameters off the landing page, and writing leads as CSV (RFC 4180: comma separated,
//! CRLF line ends, fields quoted when they hold a comma, quote or line break, quotes doubled;
//! UTF-8, so Cyrillic or any other script survives as it is).
//!
//! Every CSV the server makes goes through [`csv_document`], which begins it with the UTF-8
//! byte order mark (without it, Excel reads UTF-8 as the system's legacy code page and turns
//! Cyrillic into mojibake; other readers skip it) and neutralises spreadsheet
//! formulas: a cell beginning with `=`, `+`, `-`, `@`, tab or carriage return — what a
//! spreadsheet would run as a formula (OWASP "CSV injection") — is written with a leading `'`, so
//! it opens as the text the visitor typed and never runs.

use std::collections::BTreeMap;

use bellhop_protocol::api::{
    FieldKind, FormSpec, Lead, LeadKind, LeadSubmission, PageContext, SiteSettings, Utm,
};
use bellhop_protocol::frames::Millis;
use bellhop_protocol::{LeadId, VisitorId};
use chrono::{TimeZone, Utc};
use uuid::Uuid;

/// Longest accepted value of one field; `message` may be longer.
const MAX_FIELD_CHARS: usize = 500;
const MAX_URL_CHARS: usize = 2000;

/// Builds the lead a visitor's form submission describes, or says what is wrong with it.
pub(crate) fn from_submission(
    site: &SiteSettings,
    visitor: VisitorId,
    submission: LeadSubmission,
    now: Millis,
) -> Result<Lead, String> {
    let form: &FormSpec = match submission.kind {
        LeadKind::Prechat => &site.config.prechat_form,
        LeadKind::Offline => &site.config.offline_form,
    };
    if !form.enabled {
        return Err(format!(
            "this site has no {} form",
            submission.kind.as_str()
        ));
    }
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in submission.fields {
        let Some(field) = form.fields.iter().find(|f| f.name == name) else {
            return Err(format!("the form has no field {name:?}"));
        };
        let value = value.trim().to_owned();
        let max = if name == "message" {
            bellhop_protocol::text::MAX_MESSAGE_CHARS
        } else {
            MAX_FIELD_CHARS
        };
        if value.chars().count() > max {
            return Err(format!("{} must be at most {max} characters", field.label));
        }
        if value.contains('\0') {
            return Err(format!(
                "{} contains a character that is not allowed",
                field.label
            ));
        }
        if !value.is_empty() {
            check_kind(field.kind, &value).map_err(|why| format!("{} {why}", field.label))?;
            values.insert(name, value);
        }
    }
    for field in form.fields.iter().filter(|f| f.required) {
        if !values.contains_key(&field.name) {
            return Err(format!("{} is required", field.label));
        }
    }
    if form.consent_text.is_some() && !submission.consent {
        return Err("consent is required".into());
    }
    let page = PageContext {
        landing_page: bounded_url(submission.page.landing_page)?,
        current_page: bounded_url(submission.page.current_page)?,
        referrer: bounded_url(submission.page.referrer)?,
    };
    let utm = page.landing_page.as_deref().map(utm_of).unwrap_or_default();
    let name = values.remove("name");
    let email = values.remove("email");
    let phone = values.remove("phone");
    let message = values.remove("message");
    Ok(Lead {
        id: LeadId::from_uuid(Uuid::now_v7()),
        site_id: site.id,
        visitor_id: Some(visitor),
        kind: submission.kind,
        department_id: submission.department_id,
        name,
        email,
        phone,
        message,
        custom: values,
        consent: submission.consent,
        page,
        utm,
        created_at: now,
        conversation_id: None,
    })
}

fn check_kind(kind: FieldKind, value: &str) -> Result<(), &'static str> {
    match kind {
        FieldKind::Email => {
            let (local, domain) = value.split_once('@').ok_or("is not an email address")?;
            if local.is_empty()
                || looks_like_formula(value)
                || !domain.contains('.')
                || domain.starts_with('.')
                || domain.ends_with('.')
                || value.chars().any(char::is_whitespace)
            {
                return Err("is not an email address");
            }
        }
        FieldKind::Phone => {
            let digits = value.chars().filter(char::is_ascii_digit).count();
            let allowed = value
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c));
            if !allowed || !(5..=20).contains(&digits) {
                return Err("is not a phone number");
            }
        }
        FieldKind::Text | FieldKind::Textarea => {}
    }
    Ok(())
}

fn bounded_url(url: Option<String>) -> Result<Option<String>, String> {
    match url {
        Some(url) if url.chars().count() > MAX_URL_CHARS => Err(format!(
            "page addresses must be at most {MAX_URL_CHARS} characters"
        )),
        Some(url) if url.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// The `utm_*` parameters of a URL's query (percent-decoded).
pub(crate) fn utm_of(url: &str) -> Utm {
    let query = url
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or(q))
        .unwrap_or("");
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    Utm {
        source: get("utm_source"),
        medium: get("utm_medium"),
        campaign: get("utm_campaign"),
        term: get("utm_term"),
        content: get("utm_content"),
    }
}

pub(crate) const CSV_HEADER: [&str; 20] = [
    "created_at",
    "kind",
    "name",
    "email",
    "phone",
    "message",
    "consent",
    "custom_fields",
    "landing_page",
    "current_page",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "department_id",
    "site_id",
    "visitor_id",
    "id",
];

/// Whether a spreadsheet would read `cell` as a formula.
fn looks_like_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// `cell` as a spreadsheet shows it as text: prefixed with `'` when it looks like a formula.
pub(crate) fn safe_cell(cell: String) -> String {
    if looks_like_formula(&cell) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// The UTF-8 byte order mark every CSV document begins with.
pub(crate) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// An RFC 4180 CSV document (UTF-8 after a byte order mark, CRLF), `header` first, every cell
/// passed through [`safe_cell`]. The one writer for every CSV the server makes.
pub(crate) fn csv_document<R>(
    header: &[&str],
    rows: impl IntoIterator<Item = R>,
) -> Result<Vec<u8>, csv::Error>
where
    R: IntoIterator<Item = String>,
{
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(UTF8_BOM.to_vec());
    writer.write_record(header.iter().map(|h| safe_cell((*h).to_owned())))?;
    for row in rows {
        writer.write_record(row.into_iter().map(safe_cell))?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}

/// Leads as a CSV document (see [`csv_document`]), header first.
pub(crate) fn to_csv(leads: &[Lead]) -> Result<Vec<u8>, csv::Error> {
    csv_document(&CSV_HEADER, leads.iter().map(lead_row))
}

fn lead_row(lead: &Lead) -> [String; 20] {
    let created = Utc
        .timestamp_millis_opt(lead.created_at)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let custom = if lead.custom.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&lead.custom).unwrap_or_default()
    };
    [
        created,
        lead.kind.as_str().to_owned(),
        text(&lead.name),
        text(&lead.email),
        text(&lead.phone),
        text(&lead.message),
        if lead.consent { "yes" } else { "no" }.to_owned(),
        custom,
        text(&lead.page.landing_page),
        text(&lead.page.current_page),
        text(&lead.page.referrer),
        text(&lead.utm.source),
        text(&lead.utm.medium),
        text(&lead.utm.campaign),
        text(&lead.utm.term),
        text(&lead.utm.content),
        lead.department_id
            .map(|d| d.to_string())
            .unwrap_or_default(),
        lead.site_id.to_string(),
        lead.visitor_id.map(|v| v.to_string()).unwrap_or_default(),
        lead.id.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use bellhop_protocol::api::SiteConfig;
    use bellhop_protocol::{DepartmentId, SiteId};

    fn site() -> SiteSettings {
        SiteSettings {
            id: SiteId::from_uuid(Uuid::nil()),
            name: "Shop".into(),
            widget_key: "k".into(),
            allowed_origins: vec![],
            auto_reply: String::new(),
            default_department_id: DepartmentId::from_uuid(Uuid::nil()),
            config: SiteConfig::default(),
        }
    }

    fn offline(fields: &[(&str, &str)], landing: Option<&str>) -> LeadSubmission {
        LeadSubmission {
            kind: LeadKind::Offline,
            department_id: None,
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            consent: false,
            page: PageContext {
                landing_page: landing.map(str::to_owned),
                current_page: None,
                referrer: None,
            },
        }
    }

    /// The nil visitor submits `submission` on `site()` at `now`.
    fn submit(submission: LeadSubmission, now: Millis) -> Result<Lead, String> {
        from_submission(&site(), VisitorId::from_uuid(Uuid::nil()), submission, now)
    }

    #[test]
    fn a_valid_offline_form_becomes_a_lead_with_utm() {
        let lead = submit(
            offline(
                &[
                    ("name", "Анна Каренина"),
                    ("email", "anna@example.ru"),
                    ("message", "Перезвоните, пожалуйста"),
                ],
                Some("https://shop.example/?utm_source=yandex&utm_campaign=%D0%B7%D0%B8%D0%BC%D0%B0#x"),
            ),
            42,
        )
        .unwrap();
        assert_eq!(lead.name.as_deref(), Some("Анна Каренина"));
        assert_eq!(lead.utm.source.as_deref(), Some("yandex"));
        assert_eq!(lead.utm.campaign.as_deref(), Some("зима"));
        assert_eq!(lead.utm.medium, None);
    }

    #[test]
    fn the_form_decides_what_is_accepted() {
        let missing = submit(offline(&[("name", "A")], None), 1);
        assert_eq!(missing.err().as_deref(), Some("Email is required"));
        let bad_email = offline(
            &[("name", "A"), ("email", "not-an-email"), ("message", "hi")],
            None,
        );
        assert_eq!(
            submit(bad_email, 1).err().as_deref(),
            Some("Email is not an email address")
        );
        let unknown = offline(
            &[
                ("name", "A"),
                ("email", "a@b.co"),
                ("message", "hi"),
                ("ssn", "1"),
            ],
            None,
        );
        assert!(submit(unknown, 1).is_err());
        let mut prechat = offline(&[], None);
        prechat.kind = LeadKind::Prechat;
        assert_eq!(
            submit(prechat, 1).err().as_deref(),
            Some("this site has no prechat form")
        );
    }

    #[test]
    fn csv_is_rfc_4180_and_keeps_any_script() {
        let lead = submit(
            offline(
                &[
                    ("name", "Ёжиков, \"Пётр\""),
                    ("email", "petr@example.ru"),
                    ("message", "строка 1\nстрока 2"),
                ],
                None,
            ),
            1_795_000_000_000,
        )
        .unwrap();
        let document = to_csv(&[lead]).unwrap();
        let csv = String::from_utf8(document.strip_prefix(UTF8_BOM).unwrap().to_vec()).unwrap();
        let mut lines = csv.split("\r\n");
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("created_at,kind,name,email")
        );
        assert!(csv.contains("\"Ёжиков, \"\"Пётр\"\"\""), "{csv}");
        assert!(csv.contains("\"строка 1\nстрока 2\""), "{csv}");
        assert!(csv.ends_with("\r\n"));
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[2], "Ёжиков, \"Пётр\"");
    }

    #[test]
    fn csv_cells_that_look_like_formulas_come_out_as_text() {
        let lead = submit(
            offline(
                &[
                    ("name", "=HYPERLINK(\"http://x\",\"y\")"),
                    ("email", "nina@example.test"),
                    ("message", "-2+3"),
                ],
                None,
            ),
            1,
        )
        .unwrap();
        let csv = String::from_utf8(to_csv(&[lead]).unwrap()).unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[2], "'=HYPERLINK(\"http://x\",\"y\")");
        assert_eq!(&record[3], "nina@example.test");
        assert_eq!(&record[5], "'-2+3");
        for (cell, safe) in [
            ("@SUM(A1)", "'@SUM(A1)"),
            ("+7 999 123-45-67", "'+7 999 123-45-67"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(safe_cell(cell.into()), safe, "{cell:?}");
        }
    }

    #[test]
    fn an_email_that_begins_like_a_formula_is_refused() {
        for email in ["=1+1@evil.example", "+x@evil.example", "-x@evil.example"] {
            let form = offline(&[("name", "A"), ("email", email), ("message", "hi")], None);
            assert_eq!(
                submit(form, 1).err().as_deref(),
                Some("Email is not an email address"),
                "{email}"
            );
        }
    }
}
