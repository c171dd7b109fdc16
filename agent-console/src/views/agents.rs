//! Agents, for admins: create one, change role, chat cap, sites, departments, whether they may
//! pick from the queue, deactivate, reset the password.

use bellhop_protocol::api::{AgentProfile, AgentUpdate, NewAgentRequest, PasswordReset, Role};
use bellhop_protocol::text::Password;
use bellhop_protocol::{AgentId, ChatCap, DepartmentId, SiteId};
use leptos::ev;
use leptos::prelude::*;

use crate::api;
use crate::state::ctx;

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Agent => "role_agent",
        Role::Supervisor => "role_supervisor",
        Role::Admin => "role_admin",
    }
}

#[component]
pub fn AgentsAdmin() -> impl IntoView {
    let ctx = ctx();
    let agents = RwSignal::new(Vec::<AgentProfile>::new());
    let reload = move || {
        leptos::task::spawn_local(async move {
            match api::get::<Vec<AgentProfile>>("/api/v1/agents").await {
                Ok(list) => agents.set(list),
                Err(e) => ctx.say(e.message),
            }
        });
    };
    reload();
    let patch = move |id: AgentId, update: AgentUpdate| {
        leptos::task::spawn_local(async move {
            match api::patch::<_, AgentProfile>(&format!("/api/v1/agents/{id}"), &update).await {
                Ok(_) => reload(),
                Err(e) => ctx.say(e.message),
            }
        });
    };
    let all_sites = move || {
        ctx.sites
            .with(|s| s.as_ref().map(|s| s.sites.clone()).unwrap_or_default())
    };
    view! {
        <section class="agents-admin">
            <table>
                <thead><tr>
                    <th scope="col">{move || ctx.t("name")}</th><th scope="col">{move || ctx.t("role")}</th>
                    <th scope="col">{move || ctx.t("cap")}</th><th scope="col">{move || ctx.t("departments")}</th>
                    <th scope="col">{move || ctx.t("may_pick")}</th><th scope="col">{move || ctx.t("active")}</th><th></th>
                </tr></thead>
                <tbody>{move || agents.get().into_iter().map(|a| {
                    let id = a.id;
                    let departments: Vec<(DepartmentId, String)> = all_sites().into_iter()
                        .filter(|s| a.sites.contains(&s.id))
                        .flat_map(|s| s.departments.into_iter().map(|d| (d.id, d.name)))
                        .collect();
                    let mine = a.departments.clone();
                    view! {
                        <tr data-agent=id.to_string()>
                            <td>{a.display_name.clone()}<br/><span class="last">{a.email.clone()}</span></td>
                            <td><select aria-label=move || ctx.t("role") prop:value=a.role.as_str()
                                on:change=move |e| if let Some(role) = Role::parse(&event_target_value(&e)) {
                                    patch(id, AgentUpdate { role: Some(role), ..Default::default() });
                                }>
                                {[Role::Agent, Role::Supervisor, Role::Admin].into_iter().map(|r| view! { <option value=r.as_str()>{move || ctx.t(role_name(r))}</option> }).collect_view()}
                            </select></td>
                            <td><input type="number" min="1" max="100" aria-label=move || ctx.t("cap") prop:value=a.max_chats.to_string()
                                on:change=move |e| if let Some(cap) = event_target_value(&e).parse().ok().and_then(|c| ChatCap::new(c).ok()) {
                                    patch(id, AgentUpdate { max_chats: Some(cap), ..Default::default() });
                                }/></td>
                            <td>{departments.into_iter().map(|(d, name)| {
                                let checked = mine.contains(&d);
                                let current = mine.clone();
                                view! {
                                    <label class="check"><input type="checkbox" prop:checked=checked on:change=move |e| {
                                        let mut next = current.clone();
                                        next.retain(|x| *x != d);
                                        if event_target_checked(&e) { next.push(d); }
                                        patch(id, AgentUpdate { departments: Some(next), ..Default::default() });
                                    }/>{name}</label>
                                }
                            }).collect_view()}</td>
                            <td><input type="checkbox" aria-label=move || ctx.t("may_pick") prop:checked=a.may_pick
                                on:change=move |e| patch(id, AgentUpdate { may_pick: Some(event_target_checked(&e)), ..Default::default() })/></td>
                            <td><input type="checkbox" aria-label=move || ctx.t("active") prop:checked=a.active
                                on:change=move |e| patch(id, AgentUpdate { active: Some(event_target_checked(&e)), ..Default::default() })/></td>
                            <td><ResetPassword id=id/></td>
                        </tr>
                    }
                }).collect_view()}</tbody>
            </table>
            <NewAgent on_created=Callback::new(move |_| reload())/>
        </section>
    }
}

#[component]
fn ResetPassword(id: AgentId) -> impl IntoView {
    let ctx = ctx();
    let open = RwSignal::new(false);
    let password = RwSignal::new(String::new());
    let submit = move |e: ev::SubmitEvent| {
        e.prevent_default();
        let body = PasswordReset {
            new_password: Password::new(password.get_untracked()),
        };
        leptos::task::spawn_local(async move {
            match api::post::<_, serde_json::Value>(&format!("/api/v1/agents/{id}/password"), &body)
                .await
            {
                Ok(_) => {
                    open.set(false);
                    password.set(String::new());
                    ctx.say(ctx.t("password_reset_done"));
                }
                Err(e) => ctx.say(e.message),
            }
        });
    };
    view! {
        <button class="link" on:click=move |_| open.update(|o| *o = !*o)>{move || ctx.t("reset_password")}</button>
        <Show when=move || open.get()>
            <form class="inline" on:submit=submit>
                <label>{move || ctx.t("new_password")}<input type="password" required minlength="10" autocomplete="new-password"
                    prop:value=move || password.get() on:input=move |e| password.set(event_target_value(&e))/></label>
                <button type="submit">{move || ctx.t("save")}</button>
            </form>
        </Show>
    }
}

#[component]
fn NewAgent(on_created: Callback<()>) -> impl IntoView {
    let ctx = ctx();
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Agent);
    let site = RwSignal::new(String::new());
    let submit = move |e: ev::SubmitEvent| {
        e.prevent_default();
        let (Ok(email_v), Ok(name_v)) =
            (email.get_untracked().parse(), name.get_untracked().parse())
        else {
            ctx.say(ctx.t("check_fields"));
            return;
        };
        let sites: Vec<SiteId> = site.get_untracked().parse().ok().into_iter().collect();
        let body = NewAgentRequest {
            email: email_v,
            display_name: name_v,
            password: Password::new(password.get_untracked()),
            role: role.get_untracked(),
            max_chats: None,
            sites,
        };
        leptos::task::spawn_local(async move {
            match api::post::<_, AgentProfile>("/api/v1/agents", &body).await {
                Ok(_) => {
                    email.set(String::new());
                    name.set(String::new());
                    password.set(String::new());
                    on_created.run(());
                }
                Err(e) => ctx.say(e.message),
            }
        });
    };
    view! {
        <form class="inline new-agent" on:submit=submit aria-label=move || ctx.t("new_agent")>
            <label>{move || ctx.t("name")}<input required prop:value=move || name.get() on:input=move |e| name.set(event_target_value(&e))/></label>
            <label>{move || ctx.t("email")}<input type="email" required prop:value=move || email.get() on:input=move |e| email.set(event_target_value(&e))/></label>
            <label>{move || ctx.t("password")}<input type="password" required minlength="10" autocomplete="new-password" prop:value=move || password.get() on:input=move |e| password.set(event_target_value(&e))/></label>
            <label>{move || ctx.t("role")}
                <select on:change=move |e| role.set(Role::parse(&event_target_value(&e)).unwrap_or(Role::Agent))>
                    {[Role::Agent, Role::Supervisor, Role::Admin].into_iter().map(|r| view! { <option value=r.as_str()>{move || ctx.t(role_name(r))}</option> }).collect_view()}
                </select>
            </label>
            <label>{move || ctx.t("site")}
                <select on:change=move |e| site.set(event_target_value(&e))>
                    <option value="">"—"</option>
                    {move || ctx.sites.with(|s| s.as_ref().map(|s| s.sites.clone()).unwrap_or_default()).into_iter().map(|s| view! { <option value=s.id.to_string()>{s.name}</option> }).collect_view()}
                </select>
            </label>
            <button type="submit">{move || ctx.t("add_agent")}</button>
        </form>
    }
}
