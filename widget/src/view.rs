//! The panel's elements: a header (who serves, what is happening), the message log, the
//! composer, and a place for the pre-chat and offline forms.

use bellhop_protocol::DepartmentId;
use bellhop_protocol::api::{FieldKind, FormSpec};
use bellhop_protocol::frames::{AuthorKind, Message};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlFormElement};

use crate::dom::{append, append_linked_text, el, initials, set_attr, set_hidden, text_el};
use crate::json::{self, number};

pub(crate) struct View {
    pub avatar: Element,
    pub title: Element,
    pub status: Element,
    pub close: Element,
    pub log: Element,
    pub typing: Element,
    pub notice: Element,
    pub form_area: Element,
    /// What follows a closed chat: the rating and transcript forms (`panel.html` holds them).
    pub after: Element,
    pub rating: Element,
    pub mail: Element,
    pub composer: Element,
    pub department: Element,
    pub input: Element,
    pub attach: Element,
    pub file: Element,
    root: Element,
    /// The site's texts in the visitor's language (from the widget config).
    pub texts: json::Value,
}

/// How a message of the visitor's stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendState {
    Sent,
    Read,
    Failed,
}

impl View {
    /// The panel's elements, which `panel.html` holds (markup costs the module nothing).
    pub(crate) fn build(root: Element) -> Self {
        let doc = crate::dom::document();
        let by_id = |id: &str| doc.get_element_by_id(id).unwrap_or_else(|| el("div", ""));
        Self {
            avatar: by_id("avatar"),
            title: by_id("title"),
            status: by_id("status"),
            close: by_id("close"),
            log: by_id("log"),
            typing: by_id("typing"),
            notice: by_id("notice"),
            form_area: by_id("forms"),
            after: by_id("after"),
            rating: by_id("rating"),
            mail: by_id("mail"),
            composer: by_id("composer"),
            department: by_id("department"),
            input: by_id("input"),
            attach: by_id("attach"),
            file: by_id("file"),
            root,
            texts: json::Value::Null,
        }
    }

    /// The site's text for `key` (empty until the config is there).
    pub(crate) fn t(&self, key: &str) -> String {
        self.texts
            .get(key)
            .and_then(json::Value::as_string)
            .unwrap_or_default()
    }

    /// `key`'s text with its placeholder (`{n}`, `{name}`, `{email}`: each text has at most
    /// one) filled in. (Not `str::replace`: its searcher and panics are kilobytes of module.)
    pub(crate) fn t_with(&self, key: &str, value: &str) -> String {
        let text = self.t(key);
        if let (Some(open), Some(close)) = (text.find('{'), text.find('}'))
            && let (Some(head), Some(tail)) = (text.get(..open), text.get(close + 1..))
        {
            return head.to_owned() + value + tail;
        }
        text
    }

    /// Puts the texts into the page: each element names its text in `data-text` (its
    /// content), `data-label` (its `aria-label`, with its `value` filled in) or
    /// `data-placeholder`.
    pub(crate) fn apply_texts(&self) {
        for (selector, attribute) in [
            ("[data-text]", "data-text"),
            ("[data-label]", "data-label"),
            ("[data-placeholder]", "data-placeholder"),
        ] {
            let Ok(found) = self.root.query_selector_all(selector) else {
                continue;
            };
            for i in 0..found.length() {
                let Some(element) = found.get(i).and_then(|n| n.dyn_into::<Element>().ok()) else {
                    continue;
                };
                let key = element.get_attribute(attribute).unwrap_or_default();
                let value = element.get_attribute("value").unwrap_or_default();
                let text = self.t_with(&key, &value);
                match attribute {
                    "data-text" => element.set_text_content(Some(&text)),
                    "data-label" => set_attr(&element, "aria-label", &text),
                    _ => set_attr(&element, "placeholder", &text),
                }
            }
        }
        let _ = self.root.remove_attribute("aria-busy");
    }

    pub(crate) fn set_title(&self, title: &str, avatar: Option<&str>) {
        self.title.set_text_content(Some(title));
        match avatar {
            Some(name) => {
                self.avatar.set_text_content(Some(&initials(name)));
                set_hidden(&self.avatar, false);
            }
            None => set_hidden(&self.avatar, true),
        }
    }

    pub(crate) fn set_status(&self, text: &str) {
        self.status.set_text_content(Some(text));
    }

    pub(crate) fn show_notice(&self, text: Option<&str>) {
        self.notice.set_text_content(text);
        set_hidden(&self.notice, text.is_none());
    }

    pub(crate) fn show_typing(&self, who: Option<&str>) {
        match who {
            Some(name) => {
                self.typing
                    .set_text_content(Some(&self.t_with("agent_typing", name)));
                set_hidden(&self.typing, false);
            }
            None => set_hidden(&self.typing, true),
        }
    }

    /// A stored message, in `seq` order.
    pub(crate) fn message(&self, message: &Message) -> Element {
        let class = match message.author {
            AuthorKind::Visitor => "msg mine",
            AuthorKind::Agent => "msg theirs",
            AuthorKind::System => "msg system",
        };
        let item = el("li", class);
        if message.author == AuthorKind::Agent
            && let Some(name) = &message.author_name
        {
            append(&item, &text_el("span", "author", name));
        }
        let body = el("p", "body");
        match &message.attachment {
            Some(file) if file.is_image() => {
                let image = el("img", "thumb");
                set_attr(&image, "alt", &file.name);
                append(&body, &image);
            }
            Some(file) => {
                let link = text_el("button", "file", &file.name);
                set_attr(&link, "type", "button");
                append(&body, &link);
            }
            None => append_linked_text(&body, &message.body),
        }
        if let Some(file) = &message.attachment {
            set_attr(
                &body,
                "data-file",
                &crate::wire::uuid_text(file.id.as_uuid()),
            );
            set_attr(&body, "data-name", &file.name);
        }
        append(&item, &body);
        if message.author == AuthorKind::Visitor {
            set_attr(&item, "data-seq", &number(message.seq));
            let state = text_el("span", "state", &self.t("sent"));
            append(&item, &state);
        }
        append(&self.log, &item);
        self.scroll();
        item
    }

    /// A message of the visitor's that is not confirmed yet.
    pub(crate) fn pending(&self, body: &str) -> Element {
        let item = el("li", "msg mine");
        let text = el("p", "body");
        append_linked_text(&text, body);
        append(&item, &text);
        append(&item, &text_el("span", "state", &self.t("sending")));
        append(&self.log, &item);
        self.scroll();
        item
    }

    pub(crate) fn system(&self, text: &str) {
        let item = el("li", "msg system");
        append(&item, &text_el("p", "body", text));
        append(&self.log, &item);
        self.scroll();
    }

    pub(crate) fn set_send_state(&self, item: &Element, state: SendState) {
        let label = self.t(match state {
            SendState::Sent => "sent",
            SendState::Read => "read",
            SendState::Failed => "failed",
        });
        if let Ok(Some(span)) = item.query_selector(".state") {
            span.set_text_content(Some(&label));
        }
        let _ = item
            .class_list()
            .toggle_with_force("failed", state == SendState::Failed);
    }

    fn scroll(&self) {
        self.log.set_scroll_top(self.log.scroll_height());
    }

    /// The department choice, shown before the first message when the site has several.
    pub(crate) fn set_departments(&self, departments: &[(DepartmentId, String)]) {
        self.department.set_inner_html("");
        for (id, name) in departments {
            let option = text_el("option", "", name);
            set_attr(&option, "value", &crate::wire::uuid_text(id.as_uuid()));
            append(&self.department, &option);
        }
        set_hidden(&self.department, departments.len() < 2);
    }

    /// The visitor's sent messages up to `seq` show as read.
    pub(crate) fn mark_read(&self, seq: u64) {
        let Ok(items) = self.log.query_selector_all(".mine[data-seq]") else {
            return;
        };
        for i in 0..items.length() {
            let Some(item) = items
                .get(i)
                .and_then(|n| wasm_bindgen::JsCast::dyn_into::<Element>(n).ok())
            else {
                continue;
            };
            let at = item
                .get_attribute("data-seq")
                .and_then(|s| crate::json::parse(&s))
                .and_then(|v| v.as_u64());
            if at.is_some_and(|at| at <= seq) {
                self.set_send_state(&item, SendState::Read);
            }
        }
    }

    /// After a chat closed: the rating form (unless rated) and, when the site mails
    /// transcripts, the transcript form, each fresh.
    pub(crate) fn after_chat(&self, rate: bool, transcript: bool) {
        for (form, done, shown) in [
            (&self.rating, "rated", rate),
            (&self.mail, "mailed", transcript),
        ] {
            if let Some(form) = form.dyn_ref::<HtmlFormElement>() {
                form.reset();
            }
            set_hidden(form, !shown);
            if let Some(done) = crate::dom::document().get_element_by_id(done) {
                set_hidden(&done, true);
            }
        }
        set_hidden(&self.after, !(rate || transcript));
    }

    /// A form of `after_chat` was sent: it gives way to its line of thanks.
    pub(crate) fn done(&self, form: &Element, text: Option<&str>) {
        set_hidden(form, true);
        if let Some(line) = form.next_element_sibling() {
            if let Some(text) = text {
                line.set_text_content(Some(text));
            }
            set_hidden(&line, false);
        }
    }

    /// A labelled input (`kind` is an input type, or `textarea`).
    fn field(&self, form: &Element, name: &str, kind: &str, label: &str, required: bool) {
        let id = "f-".to_owned() + name;
        let tag = text_el("label", "", label);
        set_attr(&tag, "for", &id);
        let input = if kind == "textarea" {
            el("textarea", "")
        } else {
            let input = el("input", "");
            set_attr(&input, "type", kind);
            input
        };
        set_attr(&input, "id", &id);
        set_attr(&input, "name", name);
        if required {
            set_attr(&input, "required", "");
            set_attr(&input, "aria-required", "true");
        }
        append(form, &tag);
        append(form, &input);
    }

    /// A form (pre-chat or offline) in the form area; returns the form element.
    pub(crate) fn form(&self, heading: &str, spec: &FormSpec, submit: &str) -> Element {
        self.form_area.set_inner_html("");
        let form = el("form", "lead");
        append(&form, &text_el("h2", "", heading));
        for field in &spec.fields {
            let kind = match field.kind {
                FieldKind::Textarea => "textarea",
                FieldKind::Email => "email",
                FieldKind::Phone => "tel",
                FieldKind::Text => "text",
            };
            self.field(&form, &field.name, kind, &field.label, field.required);
        }
        if let Some(consent) = &spec.consent_text {
            let label = el("label", "consent");
            let tick = el("input", "");
            set_attr(&tick, "type", "checkbox");
            set_attr(&tick, "name", "__consent");
            set_attr(&tick, "required", "");
            append(&label, &tick);
            append(&label, &text_el("span", "", consent));
            append(&form, &label);
        }
        let button = text_el("button", "primary", submit);
        set_attr(&button, "type", "submit");
        append(&form, &button);
        append(&self.form_area, &form);
        set_hidden(&self.form_area, false);
        form
    }

    pub(crate) fn hide_forms(&self) {
        self.form_area.set_inner_html("");
        set_hidden(&self.form_area, true);
    }

    pub(crate) fn show_composer(&self, shown: bool) {
        set_hidden(&self.composer, !shown);
    }
}
