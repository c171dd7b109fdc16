//! Bellhop's client core: everything a chat client must get right about delivery, with no
//! I/O of its own, so the widget (Wasm), the agent console (Wasm), the load generator and the
//! black-box tests (native) share one implementation of "never lose a message".
//!
//! # Events in, actions out
//!
//! The core opens no socket and sets no timer. The caller owns both and tells the core what
//! happened through [`ClientCore::handle`]:
//!
//! - [`Event::Opened`] — the socket is open (the core answers with the `hello` to send);
//! - [`Event::Frame`] — a server frame arrived;
//! - [`Event::Closed`] — the socket closed, with its close code;
//! - [`Event::Tick`] — time passed (time only ever comes in as milliseconds in events).
//!
//! The user's messages go in through [`ClientCore::send`], which returns the client id the
//! message travels under. Every call returns [`Action`]s for the caller to carry out in order:
//! open a socket ([`Action::Connect`]), write a frame ([`Action::Send`]), show a message
//! ([`Action::Show`]), a send is confirmed or refused, a duplicate was dropped or a gap is
//! being held, the connection [`State`] changed, or another server frame for the UI
//! ([`Action::Frame`]).
//!
//! A typical loop: `connect()` → open the socket on [`Action::Connect`] → `Opened` → write the
//! `hello` → feed every frame → on close, feed `Closed` and call `Tick` when the
//! [`State::Waiting`] deadline comes ([`ClientCore::next_wakeup`]) → [`Action::Connect`]
//! again.
//!
//! # Guarantees
//!
//! - **In order, once.** Per conversation the core remembers the last `seq` shown. A message
//!   at `last + 1` is shown; at or below `last` it is a duplicate, dropped and reported
//!   ([`Action::Duplicate`]); beyond `last + 1` it is held and reported ([`Action::Gap`]) and
//!   shown when the missing ones arrive. Nothing is ever shown out of order.
//! - **Resume.** Every `hello` lists the last shown `seq` of each followed conversation, so
//!   the server replays exactly what was missed (protocol rule 10).
//! - **Outbox.** Each send gets a client id (a UUID from the seeded generator unless the
//!   caller gives one) and stays in the outbox until its `ack`, its echoed `message` (either
//!   may come first), or a final `error` with its client id ([`Action::Refused`]; an
//!   `internal` error keeps it). After every `welcome` the whole outbox is sent again, in
//!   order, under the same client ids; the server stores each once.
//! - **Reconnects** follow the close code (protocol rule 23): 1001, 1006, 4003, 4008 and
//!   others reconnect after an exponential backoff with full jitter, capped, reset by a
//!   `welcome` ([`backoff`]); 4001 waits for new credentials
//!   ([`ClientCore::set_credentials`]); 4002 (too old a client) and 1002/1007/1009 (the
//!   client sent something invalid) stop.
//! - **Stuck sockets are replaced.** No `welcome` within the handshake timeout, or, on a live
//!   socket, no progress for the stall timeout while something is due (messages held behind
//!   a gap, messages the server said exist, an `ack` or echo), and the core asks for
//!   [`Action::Disconnect`] and then reconnects, which resumes and resends. Call
//!   [`Event::Tick`] at [`ClientCore::next_wakeup`].
//! - **Survives reloads.** [`ClientCore::snapshot`] is serde-serialisable (resume points and
//!   outbox); [`ClientCore::restore`] carries on from it.
//!
//! No `std::time`, no threads, no randomness of its own: the caller passes a seed
//! ([`rng`]), so the crate builds for `wasm32-unknown-unknown` without `getrandom`.

pub mod backoff;
mod core;
pub mod delivery;
pub mod outbox;
pub mod rng;

pub use crate::core::{
    Action, ClientCore, ClientFrame, Config, Credentials, Draft, Event, SendError, Snapshot, State,
    StopReason,
};
pub use crate::outbox::PendingSend;
