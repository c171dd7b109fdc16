//! The panel's elements: a header (who serves, what is happening), the message log, the
//! composer, and a place for the pre-chat and offline forms.

use bellhop_protocol::api::{FieldKind, FormSpec, WidgetDepartment};
use bellhop_protocol::frames::{AuthorKind, Message};
use web_sys::Element;

use crate::dom::{append, append_linked_text, el, initials, set_attr, set_hidden, text_el};

pub(crate) struct View {
    pub avatar: Element,
    pub title: Element,
    pub status: Element,
    pub close: Element,
    pub log: Element,
    pub typing: Element,
    pub notice: Element,
    pub form_area: Element,
    pub composer: Element,
    pub department: Element,
    pub input: Element,
}

/// How a message of the visitor's stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendState {
    Sent,
    Failed,
}

impl View {
    pub(crate) fn build(root: Element) -> Self {
        let header = el("header", "head");
        let avatar = text_el("span", "avatar", "");
        set_attr(&avatar, "aria-hidden", "true");
        let who = el("div", "who");
        let title = text_el("h1", "title", "Chat");
        let status = text_el("p", "status", "");
        set_attr(&status, "aria-live", "polite");
        append(&who, &title);
        append(&who, &status);
        let close = text_el("button", "close", "×");
        set_attr(&close, "type", "button");
        set_attr(&close, "aria-label", "Close chat");
        append(&header, &avatar);
        append(&header, &who);
        append(&header, &close);

        let log = el("ol", "log");
        set_attr(&log, "aria-live", "polite");
        set_attr(&log, "aria-label", "Messages");
        let typing = text_el("p", "typing", "");
        set_hidden(&typing, true);
        let notice = text_el("p", "notice", "");
        set_attr(&notice, "role", "status");
        set_hidden(&notice, true);
        let form_area = el("div", "forms");
        set_hidden(&form_area, true);

        let composer = el("form", "composer");
        set_attr(&composer, "aria-label", "Write a message");
        let department = el("select", "department");
        set_attr(&department, "aria-label", "Department");
        set_hidden(&department, true);
        let input = el("textarea", "input");
        set_attr(&input, "rows", "1");
        set_attr(&input, "placeholder", "Write a message…");
        set_attr(&input, "aria-label", "Message");
        set_attr(&input, "maxlength", "4000");
        let send = text_el("button", "send", "Send");
        set_attr(&send, "type", "submit");
        append(&composer, &department);
        append(&composer, &input);
        append(&composer, &send);

        // Shown once the visitor's session is there (or a form takes its place).
        set_hidden(&composer, true);
        for part in [&header, &log, &typing, &notice, &form_area, &composer] {
            append(&root, part);
        }
        let _ = root.remove_attribute("aria-busy");
        Self {
            avatar,
            title,
            status,
            close,
            log,
            typing,
            notice,
            form_area,
            composer,
            department,
            input,
        }
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
                    .set_text_content(Some(&(name.to_owned() + " is typing…")));
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
        append_linked_text(&body, &message.body);
        append(&item, &body);
        if message.author == AuthorKind::Visitor {
            let state = text_el("span", "state", "Sent");
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
        append(&item, &text_el("span", "state", "Sending…"));
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

    pub(crate) fn set_send_state(item: &Element, state: SendState) {
        let label = match state {
            SendState::Sent => "Sent",
            SendState::Failed => "Not sent — tap to retry",
        };
        if let Ok(Some(span)) = item.query_selector(".state") {
            span.set_text_content(Some(label));
        }
        let _ = item
            .class_list()
            .toggle_with_force("failed", state == SendState::Failed);
    }

    fn scroll(&self) {
        self.log.set_scroll_top(self.log.scroll_height());
    }

    /// The department choice, shown before the first message when the site has several.
    pub(crate) fn set_departments(&self, departments: &[WidgetDepartment]) {
        self.department.set_inner_html("");
        for d in departments {
            let option = text_el("option", "", &d.name);
            set_attr(&option, "value", &crate::wire::uuid_text(d.id.as_uuid()));
            append(&self.department, &option);
        }
        set_hidden(&self.department, departments.len() < 2);
    }

    /// A form (pre-chat or offline) in the form area; returns the form element.
    pub(crate) fn form(&self, heading: &str, spec: &FormSpec, submit: &str) -> Element {
        self.form_area.set_inner_html("");
        let form = el("form", "lead");
        append(&form, &text_el("h2", "", heading));
        for (i, field) in spec.fields.iter().enumerate() {
            let id = "f".to_owned() + &crate::json::number(i as u64);
            let label = text_el("label", "", &field.label);
            set_attr(&label, "for", &id);
            let input = match field.kind {
                FieldKind::Textarea => el("textarea", ""),
                kind => {
                    let input = el("input", "");
                    let kind = match kind {
                        FieldKind::Email => "email",
                        FieldKind::Phone => "tel",
                        _ => "text",
                    };
                    set_attr(&input, "type", kind);
                    input
                }
            };
            set_attr(&input, "id", &id);
            set_attr(&input, "name", &field.name);
            if field.required {
                set_attr(&input, "required", "");
                set_attr(&input, "aria-required", "true");
            }
            append(&form, &label);
            append(&form, &input);
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
