//! The console's views, one module each; [`show`] picks the one of the current route.

pub mod admin;
pub mod agents;
pub mod conversation;
pub mod history;
pub mod inbox;
pub mod leads;
pub mod queue;
pub mod reports;
pub mod settings;
pub mod visitors;
pub mod wallboard;

use leptos::prelude::*;

use crate::state::Route;

/// Whether a view exists in this build (the navigation lists only those).
pub fn built(route: Route) -> bool {
    matches!(
        route,
        Route::Inbox
            | Route::Queue
            | Route::Settings
            | Route::Wallboard
            | Route::History
            | Route::Leads
            | Route::Admin
            | Route::Reports
            | Route::Visitors
    )
}

pub fn show(route: Route) -> AnyView {
    match route {
        Route::Queue => view! { <queue::QueueView/> }.into_any(),
        Route::Settings => view! { <settings::SettingsView/> }.into_any(),
        Route::Wallboard => view! { <wallboard::WallboardView/> }.into_any(),
        Route::History => view! { <history::HistoryView/> }.into_any(),
        Route::Leads => view! { <leads::LeadsView/> }.into_any(),
        Route::Admin => view! { <admin::AdminView/> }.into_any(),
        Route::Reports => view! { <reports::ReportsView/> }.into_any(),
        Route::Visitors => view! { <visitors::VisitorsView/> }.into_any(),
        _ => view! { <inbox::InboxView/> }.into_any(),
    }
}
