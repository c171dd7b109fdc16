//! A conversation's transcript as a plain-text mail: the site's name and the chat's date, then
//! each message with its time (UTC) and author.

use bellhop_protocol::frames::{AuthorKind, Conversation, Message, Millis};
use chrono::{DateTime, Utc};

use crate::store::NewMail;

/// The mail of `conversation`'s transcript, to `recipient`. `messages` are the conversation's
/// messages in order.
///
/// Only what the visitor saw in the chat belongs here: private notes between agents, once
/// conversations have them, must be left out of `messages` (or skipped here) — a transcript
/// goes to the visitor.
pub(crate) fn transcript_mail(
    recipient: &str,
    site_name: &str,
    conversation: &Conversation,
    messages: &[Message],
) -> NewMail {
    let date = day(conversation.created_at);
    let mut body = format!(
        "Your chat with {site_name}\nStarted {} (UTC)\n\n",
        time_of(conversation.created_at, "%Y-%m-%d %H:%M")
    );
    let mut current_day = date.clone();
    for message in messages {
        let message_day = day(message.sent_at);
        if message_day != current_day {
            body.push_str(&format!("\n-- {message_day} --\n"));
            current_day = message_day;
        }
        let author = match message.author {
            AuthorKind::Visitor => "Visitor",
            AuthorKind::Agent => message.author_name.as_deref().unwrap_or("Agent"),
            AuthorKind::System => "System",
        };
        let mut text = message.body.clone();
        if let Some(file) = &message.attachment {
            let file = format!("[file: {}]", file.name);
            text = if text.trim().is_empty() {
                file
            } else {
                format!("{text}\n{file}")
            };
        }
        body.push_str(&format!(
            "[{}] {author}: {}\n",
            time_of(message.sent_at, "%H:%M"),
            indented(&text)
        ));
    }
    NewMail {
        recipient: recipient.to_owned(),
        subject: format!("Your chat with {site_name} on {date}"),
        body,
        visitor_id: Some(conversation.visitor_id),
    }
}

fn day(at: Millis) -> String {
    time_of(at, "%Y-%m-%d")
}

fn time_of(at: Millis, format: &str) -> String {
    DateTime::<Utc>::from_timestamp_millis(at)
        .map(|t| t.format(format).to_string())
        .unwrap_or_default()
}

/// A message's later lines indented under its first.
fn indented(text: &str) -> String {
    text.trim_end().replace('\n', "\n    ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bellhop_protocol::frames::{AgentRef, Attachment, ConversationStatus, Priority};
    use bellhop_protocol::ids::AttachmentId;
    use bellhop_protocol::{AgentId, ConversationId, SiteId, VisitorId};
    use uuid::Uuid;

    // 2026-12-01 09:30:00 UTC.
    const START: Millis = 1_796_117_400_000;

    fn message(seq: u64, author: AuthorKind, name: Option<&str>, body: &str) -> Message {
        Message {
            conversation_id: ConversationId::from_uuid(Uuid::from_u128(1)),
            seq,
            author,
            author_name: name.map(str::to_owned),
            client_id: None,
            body: body.into(),
            sent_at: START + i64::try_from(seq).unwrap_or(0) * 60_000,
            attachment: None,
        }
    }

    fn conversation() -> Conversation {
        Conversation {
            id: ConversationId::from_uuid(Uuid::from_u128(1)),
            site_id: SiteId::from_uuid(Uuid::from_u128(2)),
            visitor_id: VisitorId::from_uuid(Uuid::from_u128(3)),
            department_id: None,
            priority: Priority::Normal,
            status: ConversationStatus::Closed,
            agent: Some(AgentRef {
                id: AgentId::from_uuid(Uuid::from_u128(4)),
                display_name: "Нина".into(),
            }),
            last_seq: 3,
            created_at: START,
            assigned_at: None,
            closed_at: None,
            missed: false,
            visitor_read_seq: 0,
            agent_read_seq: 0,
            rating: None,
        }
    }

    #[test]
    fn each_message_has_its_time_and_author_in_order() {
        let mut file = message(4, AuthorKind::Visitor, None, "");
        file.attachment = Some(Attachment {
            id: AttachmentId::from_uuid(Uuid::from_u128(9)),
            name: "счёт.pdf".into(),
            content_type: "application/pdf".into(),
            size: 10,
        });
        let messages = [
            message(1, AuthorKind::Visitor, None, "Привет!\nВторая строка"),
            message(2, AuthorKind::System, None, "Thanks, we got it."),
            message(3, AuthorKind::Agent, Some("Нина"), "Здравствуйте"),
            file,
        ];
        let mail = transcript_mail("v@example.test", "Shop", &conversation(), &messages);
        assert_eq!(mail.recipient, "v@example.test");
        assert_eq!(mail.subject, "Your chat with Shop on 2026-12-01");
        assert_eq!(
            mail.body,
            "Your chat with Shop\nStarted 2026-12-01 09:30 (UTC)\n\n\
             [09:31] Visitor: Привет!\n    Вторая строка\n\
             [09:32] System: Thanks, we got it.\n\
             [09:33] Нина: Здравствуйте\n\
             [09:34] Visitor: [file: счёт.pdf]\n"
        );
    }

    #[test]
    fn a_new_day_gets_a_date_line() {
        let mut late = message(1, AuthorKind::Visitor, None, "still there?");
        late.sent_at = START + 24 * 3_600_000;
        let mail = transcript_mail("v@example.test", "Shop", &conversation(), &[late]);
        assert!(
            mail.body
                .ends_with("\n-- 2026-12-02 --\n[09:30] Visitor: still there?\n"),
            "{}",
            mail.body
        );
    }
}
