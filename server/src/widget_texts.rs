//! Every text the widget shows, in each language it speaks (English and Russian), and how a
//! site's overrides and the page's language pick the texts one widget gets.
//!
//! The keys are the contract with the widget and with sites' overrides (`widget.texts` of the
//! site configuration, refused when a key is unknown); `docs/widget.md` lists them. `{n}`,
//! `{name}` and `{email}` are placeholders the widget fills in, kept in every language.

use std::collections::BTreeMap;

/// The languages the widget speaks.
pub(crate) const LANGUAGES: &[&str] = &["en", "ru"];

/// English: the keys, in the order the docs list them.
const EN: &[(&str, &str)] = &[
    ("title", "Chat"),
    ("close", "Close chat"),
    ("messages", "Messages"),
    ("department", "Department"),
    ("composer_label", "Message"),
    ("composer_placeholder", "Write a message…"),
    ("send", "Send"),
    ("sending", "Sending…"),
    ("sent", "Sent"),
    ("read", "Read"),
    ("failed", "Not sent — tap to retry"),
    (
        "offline_notice",
        "You are offline. Your messages will be sent when you are back.",
    ),
    ("unavailable", "The chat is unavailable right now."),
    ("reconnecting", "Reconnecting…"),
    (
        "session_expired",
        "Your chat session expired. Reopen the chat.",
    ),
    ("cannot_connect", "The chat could not connect."),
    ("queue_position", "You are number {n} in the queue"),
    ("queue_wait", "about {n} min"),
    ("chat_ended", "This chat has ended. Write again any time."),
    ("agent_default_name", "The agent"),
    ("agent_typing", "{name} is typing…"),
    (
        "nobody_online",
        "Nobody is online right now; leave a message and we will reply.",
    ),
    (
        "offline_intro",
        "We are away right now. Leave a message and we will get back to you.",
    ),
    ("offline_submit", "Send message"),
    (
        "prechat_intro",
        "Tell us a little about you before we start.",
    ),
    ("prechat_submit", "Start chat"),
    (
        "lead_thanks",
        "Thanks! Your message is with us; we will reply by email.",
    ),
    ("attach", "Attach a file"),
    ("uploading", "Uploading… {n}%"),
    (
        "file_too_large",
        "This file is too large (the limit is {n} MB).",
    ),
    ("file_type_refused", "This type of file cannot be sent."),
    ("upload_failed", "The file could not be sent."),
    ("end_chat", "End chat"),
    ("rating_prompt", "How was this chat?"),
    ("rating_star", "{n} of 5"),
    ("rating_comment", "Anything to add? (optional)"),
    ("rating_submit", "Send rating"),
    ("rating_thanks", "Thank you for your rating!"),
    ("transcript_offer", "Email me the transcript"),
    ("transcript_email", "Your email"),
    ("transcript_submit", "Send"),
    (
        "transcript_sent",
        "The transcript is on its way to {email}.",
    ),
    ("open_chat", "Open chat"),
    ("unread", "{n} unread"),
    ("greeting_dismiss", "Dismiss"),
    ("new_message", "New message"),
    ("consent", "I agree"),
    ("required", "Please fill in this field."),
    ("invalid_email", "Please enter a valid email address."),
];

/// Russian, key for key.
const RU: &[(&str, &str)] = &[
    ("title", "Чат"),
    ("close", "Закрыть чат"),
    ("messages", "Сообщения"),
    ("department", "Отдел"),
    ("composer_label", "Сообщение"),
    ("composer_placeholder", "Напишите сообщение…"),
    ("send", "Отправить"),
    ("sending", "Отправляется…"),
    ("sent", "Отправлено"),
    ("read", "Прочитано"),
    ("failed", "Не отправлено — нажмите, чтобы повторить"),
    (
        "offline_notice",
        "Нет подключения к сети. Сообщения отправятся, как только связь восстановится.",
    ),
    ("unavailable", "Чат сейчас недоступен."),
    ("reconnecting", "Подключаемся снова…"),
    ("session_expired", "Сеанс чата истёк. Откройте чат заново."),
    ("cannot_connect", "Не удалось подключиться к чату."),
    ("queue_position", "Ваш номер в очереди: {n}"),
    ("queue_wait", "около {n} мин"),
    ("chat_ended", "Чат завершён. Пишите нам в любое время."),
    ("agent_default_name", "Оператор"),
    ("agent_typing", "{name} печатает…"),
    (
        "nobody_online",
        "Сейчас никого нет на связи. Оставьте сообщение, и мы вам ответим.",
    ),
    (
        "offline_intro",
        "Сейчас мы не на связи. Оставьте сообщение, и мы обязательно вам ответим.",
    ),
    ("offline_submit", "Отправить сообщение"),
    (
        "prechat_intro",
        "Прежде чем начать, расскажите немного о себе.",
    ),
    ("prechat_submit", "Начать чат"),
    (
        "lead_thanks",
        "Спасибо! Мы получили ваше сообщение и ответим по электронной почте.",
    ),
    ("attach", "Прикрепить файл"),
    ("uploading", "Загрузка… {n}%"),
    ("file_too_large", "Файл слишком большой (не более {n} МБ)."),
    ("file_type_refused", "Файлы этого типа отправить нельзя."),
    ("upload_failed", "Не удалось отправить файл."),
    ("end_chat", "Завершить чат"),
    ("rating_prompt", "Как вам наш разговор?"),
    ("rating_star", "{n} из 5"),
    (
        "rating_comment",
        "Хотите что-нибудь добавить? (необязательно)",
    ),
    ("rating_submit", "Отправить оценку"),
    ("rating_thanks", "Спасибо за оценку!"),
    ("transcript_offer", "Прислать переписку на почту"),
    ("transcript_email", "Ваш адрес электронной почты"),
    ("transcript_submit", "Отправить"),
    ("transcript_sent", "Переписка отправлена на адрес {email}."),
    ("open_chat", "Открыть чат"),
    ("unread", "Непрочитанных: {n}"),
    ("greeting_dismiss", "Скрыть"),
    ("new_message", "Новое сообщение"),
    ("consent", "Даю согласие"),
    ("required", "Пожалуйста, заполните это поле."),
    (
        "invalid_email",
        "Пожалуйста, введите корректный адрес электронной почты.",
    ),
];

/// The longest text a site may set for one key, in characters.
pub(crate) const MAX_TEXT_CHARS: usize = 500;

/// The default texts of `language` (`en` or `ru`).
fn defaults(language: &str) -> Option<&'static [(&'static str, &'static str)]> {
    match language {
        "en" => Some(EN),
        "ru" => Some(RU),
        _ => None,
    }
}

/// Whether `key` names a widget text.
pub(crate) fn is_key(key: &str) -> bool {
    EN.iter().any(|(k, _)| *k == key)
}

/// Every text key, in the docs' order.
#[cfg(test)]
fn keys() -> impl Iterator<Item = &'static str> {
    EN.iter().map(|(k, _)| *k)
}

/// The language a widget speaks: the page's `lang` (its primary subtag, `ru-RU` → `ru`) if
/// the widget speaks it, else the site's language (English if that is not one either).
pub(crate) fn language(asked: Option<&str>, site_language: &str) -> &'static str {
    let primary = |tag: &str| {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        LANGUAGES
            .iter()
            .copied()
            .find(|lang| primary.eq_ignore_ascii_case(lang))
    };
    asked
        .and_then(primary)
        .or_else(|| primary(site_language))
        .unwrap_or("en")
}

/// Every text in `language`, with the site's overrides for it applied (unknown keys, which
/// validation refuses, are skipped).
pub(crate) fn texts(
    language: &str,
    overrides: &BTreeMap<String, BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let mut texts: BTreeMap<String, String> = defaults(language)
        .unwrap_or(EN)
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for (key, text) in overrides.get(language).into_iter().flatten() {
        if let Some(slot) = texts.get_mut(key) {
            slot.clone_from(text);
        }
    }
    texts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_key_once_with_its_placeholders() {
        let en: Vec<_> = keys().collect();
        let mut unique = en.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), en.len(), "a key appears twice");
        for language in LANGUAGES {
            let table = defaults(language).unwrap_or_default();
            let keys: Vec<_> = table.iter().map(|(k, _)| *k).collect();
            assert_eq!(keys, en, "{language}");
            for ((key, english), (_, text)) in EN.iter().zip(table) {
                assert!(!text.trim().is_empty(), "{language} {key}");
                assert!(text.chars().count() <= MAX_TEXT_CHARS);
                for placeholder in ["{n}", "{name}", "{email}"] {
                    assert_eq!(
                        english.contains(placeholder),
                        text.contains(placeholder),
                        "{language} {key} {placeholder}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_pages_language_wins_when_the_widget_speaks_it() {
        assert_eq!(language(Some("ru"), "en"), "ru");
        assert_eq!(language(Some("ru-RU"), "en"), "ru");
        assert_eq!(language(Some("EN_gb"), "ru"), "en");
        assert_eq!(language(Some("de-DE"), "ru"), "ru");
        assert_eq!(language(None, "ru"), "ru");
        assert_eq!(language(Some(""), "xx"), "en");
    }

    #[test]
    fn an_override_replaces_one_text_of_its_language() {
        let overrides = BTreeMap::from([(
            "ru".to_owned(),
            BTreeMap::from([("title".to_owned(), "Чат с нами".to_owned())]),
        )]);
        let ru = texts("ru", &overrides);
        assert_eq!(ru["title"], "Чат с нами");
        assert_eq!(ru["send"], "Отправить");
        assert_eq!(ru.len(), EN.len());
        assert_eq!(texts("en", &overrides)["title"], "Chat");
    }
}
