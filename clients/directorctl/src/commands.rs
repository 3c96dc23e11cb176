//! One function per command: call the daemon, print the answer as a table or as JSON.

use crate::apply::{Mode, Outcome, Plan};
use crate::cli::{AuditArgs, Cli, Command, GetWhat, ListWhat, Output};
use crate::client::{self, Client};
use crate::failure::Failure;
use crate::json;
use crate::output::{self, cell, endpoint, service};
use crate::proto as pb;
use serde_json::{json, Value};
use std::io::Read;
use std::time::Duration;

pub async fn run(cli: Cli) -> Result<(), Failure> {
    let out = cli.global.output;
    // Files are checked before connecting: a bad file fails the same with or without a daemon.
    let plan = match &cli.command {
        Command::Apply { file, .. } => Some(read_plan(file)?),
        _ => None,
    };
    let mut c = client::connect(&cli.global).await?;
    match cli.command {
        Command::Status => status(&mut c, out).await,
        Command::List(ListWhat::VirtualServers { limit, cursor }) => {
            list_virtual_servers(&mut c, out, limit, cursor).await
        }
        Command::List(ListWhat::RealServers { virtual_server }) => {
            list_real_servers(&mut c, out, virtual_server).await
        }
        Command::List(ListWhat::VrrpGroups) => list_vrrp_groups(&mut c, out).await,
        Command::Get(GetWhat::VirtualServer { name }) => {
            let vs = c
                .get_virtual_server(pb::GetVirtualServerRequest { name })
                .await?
                .into_inner();
            show_virtual_server(out, &to_json("VirtualServer", &vs)?)
        }
        Command::Get(GetWhat::RealServer {
            virtual_server,
            real_server,
        }) => {
            let rs = c
                .get_real_server(pb::GetRealServerRequest {
                    virtual_server: virtual_server.clone(),
                    real_server,
                })
                .await?
                .into_inner();
            show_real_server(out, &virtual_server, &to_json("RealServer", &rs)?)
        }
        Command::Get(GetWhat::VrrpGroup { name }) => {
            let g = c
                .get_vrrp_group(pb::GetVrrpGroupRequest { name })
                .await?
                .into_inner();
            show_vrrp_group(out, &to_json("VrrpGroup", &g)?)
        }
        Command::SetWeight {
            virtual_server,
            real_server,
            weight,
            expect_revision,
        } => {
            let rs = c
                .set_weight(pb::SetWeightRequest {
                    virtual_server: virtual_server.clone(),
                    real_server,
                    weight,
                    expected_revision: expect_revision,
                })
                .await?
                .into_inner();
            let rs = to_json("RealServer", &rs)?;
            match out {
                Output::Json => output::json(&rs),
                Output::Table => output::line(&format!(
                    "{virtual_server}/{}: weight {} (revision {})",
                    endpoint(&rs),
                    cell(&rs["weight"]),
                    cell(&rs["revision"])
                )),
            }
        }
        Command::Drain {
            virtual_server,
            real_server,
            wait,
            timeout,
        } => drain(&mut c, out, virtual_server, real_server, wait, timeout).await,
        Command::DrainHost {
            address,
            wait,
            timeout,
        } => {
            let r = c
                .drain_host(pb::DrainHostRequest {
                    address,
                    wait,
                    timeout: Some(proto_duration(timeout)),
                })
                .await?
                .into_inner();
            host_change(out, &r)
        }
        Command::UndrainHost { address } => {
            let r = c
                .undrain_host(pb::UndrainHostRequest { address })
                .await?
                .into_inner();
            host_change(out, &r)
        }
        Command::Enable {
            virtual_server,
            real_server,
        } => switch(&mut c, out, virtual_server, real_server, true).await,
        Command::Disable {
            virtual_server,
            real_server,
        } => switch(&mut c, out, virtual_server, real_server, false).await,
        Command::WaitApplied { revision, timeout } => {
            let r = c
                .wait_applied(pb::WaitAppliedRequest {
                    revision,
                    timeout: Some(proto_duration(timeout)),
                })
                .await?
                .into_inner();
            match out {
                Output::Json => output::json(&json!({"applied_revision": r.applied_revision})),
                Output::Table => output::line(&format!("applied revision {}", r.applied_revision)),
            }
        }
        Command::Apply { dry_run, prune, .. } => match plan {
            Some(plan) => apply(&mut c, out, plan, Mode { dry_run, prune }).await,
            None => Err(Failure::Internal("the file was not read".into())),
        },
        Command::Audit(args) => audit(&mut c, out, *args).await,
        Command::Connections {
            virtual_server,
            real_server,
            client,
            limit,
            cursor,
        } => {
            let request = pb::ListConnectionsRequest {
                virtual_server: virtual_server.unwrap_or_default(),
                real_server: real_server.unwrap_or_default(),
                client: client.unwrap_or_default(),
                limit: limit.unwrap_or(0),
                cursor: cursor.unwrap_or_default(),
            };
            connections(&mut c, out, request).await
        }
        Command::Watch { after } => watch(&mut c, out, after).await,
    }
}

fn to_json<M: prost::Message>(name: &str, m: &M) -> Result<Value, Failure> {
    json::to_json(name, m).map_err(Failure::Internal)
}

fn proto_duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

fn read_plan(file: &std::path::Path) -> Result<Plan, Failure> {
    let (name, text) = if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::File(format!("reading standard input: {e}")))?;
        ("<stdin>".to_string(), text)
    } else {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Failure::File(format!("{}: {e}", file.display())))?;
        (file.display().to_string(), text)
    };
    Plan::read(&name, &text)
}

async fn status(c: &mut Client, out: Output) -> Result<(), Failure> {
    let s = c.status(pb::StatusRequest {}).await?.into_inner();
    let v = to_json("StatusResponse", &s)?;
    if out == Output::Json {
        return output::json(&v);
    }
    output::fields(&[
        ("node", cell(&v["node"])),
        ("version", cell(&v["version"])),
        ("started", cell(&v["started_at"])),
        ("revision", cell(&v["revision"])),
        (
            "applied revision",
            s.applied_revision
                .map_or_else(|| "none".to_string(), |r| r.to_string()),
        ),
        (
            "dataplane",
            format!(
                "{} ({})",
                cell(&v["dataplane"]["active"]),
                cell(&v["dataplane"]["detail"])
            ),
        ),
        (
            "objects",
            format!(
                "{} virtual servers, {} real servers, {} VRRP groups",
                cell(&v["counts"]["virtual_servers"]),
                cell(&v["counts"]["real_servers"]),
                cell(&v["counts"]["vrrp_groups"])
            ),
        ),
    ])
}

fn virtual_server_row(vs: &Value) -> Vec<String> {
    let servers = vs["real_servers"].as_array().map_or(0, Vec::len);
    vec![
        cell(&vs["name"]),
        service(vs),
        cell(&vs["scheduler"]),
        cell(&vs["forwarding"]),
        servers.to_string(),
        cell(&vs["enabled"]),
        cell(&vs["vrrp_group"]),
        cell(&vs["revision"]),
    ]
}

const VS_HEADERS: [&str; 8] = [
    "NAME",
    "SERVICE",
    "SCHEDULER",
    "FORWARDING",
    "REAL SERVERS",
    "ENABLED",
    "VRRP GROUP",
    "REVISION",
];

async fn list_virtual_servers(
    c: &mut Client,
    out: Output,
    limit: Option<u32>,
    cursor: Option<String>,
) -> Result<(), Failure> {
    let page = c
        .list_virtual_servers(pb::ListVirtualServersRequest {
            limit: limit.unwrap_or(0),
            cursor: cursor.unwrap_or_default(),
        })
        .await?
        .into_inner();
    let v = to_json("ListVirtualServersResponse", &page)?;
    if out == Output::Json {
        return output::json(&v);
    }
    let rows: Vec<_> = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(virtual_server_row)
        .collect();
    output::table(&VS_HEADERS, &rows)?;
    if !page.next_cursor.is_empty() {
        eprintln!("more: --cursor {}", page.next_cursor);
    }
    Ok(())
}

const RS_HEADERS: [&str; 6] = [
    "REAL SERVER",
    "WEIGHT",
    "ENABLED",
    "HEALTH",
    "FORWARDING",
    "REVISION",
];

fn real_server_row(rs: &Value) -> Vec<String> {
    vec![
        endpoint(rs),
        cell(&rs["weight"]),
        cell(&rs["enabled"]),
        cell(&rs["health"]["status"]),
        cell(&rs["forwarding"]),
        cell(&rs["revision"]),
    ]
}

async fn list_real_servers(
    c: &mut Client,
    out: Output,
    virtual_server: String,
) -> Result<(), Failure> {
    let list = c
        .list_real_servers(pb::ListRealServersRequest { virtual_server })
        .await?
        .into_inner();
    let v = to_json("ListRealServersResponse", &list)?;
    if out == Output::Json {
        return output::json(&v);
    }
    let rows: Vec<_> = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(real_server_row)
        .collect();
    output::table(&RS_HEADERS, &rows)
}

async fn list_vrrp_groups(c: &mut Client, out: Output) -> Result<(), Failure> {
    let list = c
        .list_vrrp_groups(pb::ListVrrpGroupsRequest {})
        .await?
        .into_inner();
    let v = to_json("ListVrrpGroupsResponse", &list)?;
    if out == Output::Json {
        return output::json(&v);
    }
    let rows: Vec<_> = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            vec![
                cell(&g["name"]),
                cell(&g["vrid"]),
                cell(&g["version"]),
                cell(&g["virtual_addresses"]),
                cell(&g["interface"]),
                cell(&g["priority"]),
                g["members"]
                    .as_array()
                    .map(|m| {
                        m.iter()
                            .map(|m| cell(&m["node"]))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "every node".into()),
                cell(&g["revision"]),
            ]
        })
        .collect();
    output::table(
        &[
            "NAME",
            "VRID",
            "VERSION",
            "VIRTUAL ADDRESSES",
            "INTERFACE",
            "PRIORITY",
            "MEMBERS",
            "REVISION",
        ],
        &rows,
    )
}

fn show_virtual_server(out: Output, vs: &Value) -> Result<(), Failure> {
    if out == Output::Json {
        return output::json(vs);
    }
    let persistence = match vs["persistence"]["timeout_s"].as_u64() {
        Some(t) => format!("{t} s"),
        None => "-".to_string(),
    };
    output::fields(&[
        ("name", cell(&vs["name"])),
        ("service", service(vs)),
        ("scheduler", cell(&vs["scheduler"])),
        ("scheduler flags", cell(&vs["scheduler_flags"])),
        ("forwarding", cell(&vs["forwarding"])),
        ("persistence", persistence),
        ("vrrp group", cell(&vs["vrrp_group"])),
        ("health check", cell(&vs["health_check"]["type"])),
        ("quorum", cell(&vs["quorum"])),
        ("enabled", cell(&vs["enabled"])),
        ("revision", cell(&vs["revision"])),
    ])?;
    output::line("")?;
    let rows: Vec<_> = vs["real_servers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(real_server_row)
        .collect();
    output::table(&RS_HEADERS, &rows)
}

fn show_real_server(out: Output, virtual_server: &str, rs: &Value) -> Result<(), Failure> {
    if out == Output::Json {
        return output::json(rs);
    }
    output::fields(&[
        ("real server", format!("{virtual_server}/{}", endpoint(rs))),
        ("weight", cell(&rs["weight"])),
        ("enabled", cell(&rs["enabled"])),
        ("health", cell(&rs["health"]["status"])),
        ("health since", cell(&rs["health"]["since"])),
        ("forwarding", cell(&rs["forwarding"])),
        ("upper threshold", cell(&rs["upper_threshold"])),
        ("lower threshold", cell(&rs["lower_threshold"])),
        ("inhibit on failure", cell(&rs["inhibit_on_failure"])),
        ("revision", cell(&rs["revision"])),
    ])
}

fn show_vrrp_group(out: Output, g: &Value) -> Result<(), Failure> {
    if out == Output::Json {
        return output::json(g);
    }
    let members = g["members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            format!(
                "{} (priority {}, interface {})",
                cell(&m["node"]),
                cell(&m["priority"]),
                cell(&m["interface"])
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    output::fields(&[
        ("name", cell(&g["name"])),
        ("vrid", cell(&g["vrid"])),
        ("version", cell(&g["version"])),
        ("virtual addresses", cell(&g["virtual_addresses"])),
        ("interface", cell(&g["interface"])),
        ("priority", cell(&g["priority"])),
        (
            "advert interval",
            format!("{} ms", cell(&g["advert_interval_ms"])),
        ),
        ("preempt", cell(&g["preempt"])),
        (
            "members",
            if members.is_empty() {
                "every node".into()
            } else {
                members
            },
        ),
        ("revision", cell(&g["revision"])),
    ])
}

async fn drain(
    c: &mut Client,
    out: Output,
    virtual_server: String,
    real_server: String,
    wait: bool,
    timeout: Duration,
) -> Result<(), Failure> {
    let r = c
        .drain(pb::DrainRequest {
            virtual_server: virtual_server.clone(),
            real_server,
            wait,
            timeout: Some(proto_duration(timeout)),
        })
        .await?
        .into_inner();
    let v = to_json("DrainResponse", &r)?;
    if out == Output::Json {
        return output::json(&v);
    }
    let rs = &v["real_server"];
    let mut text = format!(
        "{virtual_server}/{}: drained, weight {} (revision {})",
        endpoint(rs),
        cell(&rs["weight"]),
        cell(&rs["revision"])
    );
    if let Some(applied) = r.applied_revision {
        text.push_str(&format!(
            "; {} active connections, kernel at revision {applied}",
            r.active_connections
        ));
    }
    output::line(&text)
}

/// A host drain or undrain: the sentence, then a row per real server (or the whole response as JSON).
fn host_change(out: Output, r: &pb::HostDrainResponse) -> Result<(), Failure> {
    let v = to_json("HostDrainResponse", r)?;
    if out == Output::Json {
        return output::json(&v);
    }
    let change = &v["change"];
    let mut text = cell(&change["message"]);
    text.push_str(&format!(" (revision {})", cell(&change["revision"])));
    if let Some(applied) = r.applied_revision {
        text.push_str(&format!(
            "; {} active connections, kernel at revision {applied}",
            r.active_connections
        ));
    }
    output::line(&text)?;
    let rows: Vec<Vec<String>> = change["real_servers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|rs| {
            vec![
                cell(&rs["virtual_server"]),
                cell(&rs["endpoint"]),
                cell(&rs["weight_before"]),
                cell(&rs["weight"]),
                if rs["changed"] == true { "yes" } else { "no" }.to_string(),
            ]
        })
        .collect();
    output::table(
        &[
            "VIRTUAL SERVER",
            "REAL SERVER",
            "BEFORE",
            "WEIGHT",
            "CHANGED",
        ],
        &rows,
    )
}

async fn switch(
    c: &mut Client,
    out: Output,
    virtual_server: String,
    real_server: Option<String>,
    enable: bool,
) -> Result<(), Failure> {
    let request = pb::EnableRequest {
        virtual_server: virtual_server.clone(),
        real_server: real_server.clone().unwrap_or_default(),
    };
    let vs = if enable {
        c.enable(request).await?
    } else {
        c.disable(request).await?
    }
    .into_inner();
    let v = to_json("VirtualServer", &vs)?;
    if out == Output::Json {
        return output::json(&v);
    }
    let word = if enable { "enabled" } else { "disabled" };
    match real_server {
        Some(rs) => output::line(&format!(
            "{virtual_server}/{rs}: {word} (revision {})",
            cell(&v["revision"])
        )),
        None => output::line(&format!(
            "{virtual_server}: {word} (revision {})",
            cell(&v["revision"])
        )),
    }
}

async fn apply(c: &mut Client, out: Output, plan: Plan, mode: Mode) -> Result<(), Failure> {
    let outcomes = plan.apply(c, mode).await?;
    let revision = outcomes.iter().map(|o| o.revision).max().unwrap_or(0);
    match out {
        Output::Json => output::json(&json!({
            "objects": outcomes,
            "revision": revision,
            "dry_run": mode.dry_run,
        })),
        Output::Table => {
            if mode.dry_run {
                output::line("dry run: nothing is changed")?;
            }
            for o in &outcomes {
                for line in outcome_lines(o, mode.dry_run) {
                    output::line(&line)?;
                }
            }
            if mode.dry_run {
                Ok(())
            } else {
                output::line(&format!("revision {revision}"))
            }
        }
    }
}

/// An object's outcome as lines: the object, then each field and real server that changes or is kept.
fn outcome_lines(o: &Outcome, dry_run: bool) -> Vec<String> {
    let result = if dry_run {
        match o.result {
            "created" => "would create",
            "updated" => "would update",
            other => other,
        }
    } else {
        o.result
    };
    let at = match (dry_run, o.revision) {
        (true, 0) => String::new(),
        (true, r) => format!(" (now at revision {r})"),
        (false, r) => format!(" (revision {r})"),
    };
    let mut lines = vec![format!("{result} {} {}{at}", o.kind, o.name)];
    let field = |f: &crate::apply::FieldChange| {
        format!("{}: {} -> {}", f.field, cell(&f.before), cell(&f.after))
    };
    lines.extend(o.changes.iter().map(|f| format!("  {}", field(f))));
    // The real servers of a created virtual server are all created with it (the JSON output lists them).
    for m in o.real_servers.iter().filter(|_| o.result != "created") {
        match m.result {
            "unchanged" => {}
            "updated" => lines.extend(
                m.changes
                    .iter()
                    .map(|f| format!("  real server {}: {}", m.endpoint, field(f))),
            ),
            "kept" => lines.push(format!(
                "  real server {}: kept (not in the file; --prune removes it)",
                m.endpoint
            )),
            other => lines.push(format!("  real server {}: {other}", m.endpoint)),
        }
    }
    lines
}

async fn audit(c: &mut Client, out: Output, a: AuditArgs) -> Result<(), Failure> {
    let page = c
        .list_audit(pb::ListAuditRequest {
            kind: a.kind.unwrap_or_default(),
            name: a.name.unwrap_or_default(),
            object: a.object.unwrap_or_default(),
            actor: a.actor.unwrap_or_default(),
            action: a.action.unwrap_or_default(),
            via: a.via.unwrap_or_default(),
            source: a.source,
            field: a.field.unwrap_or_default(),
            since: a.since.unwrap_or_default(),
            until: a.until.unwrap_or_default(),
            limit: a.limit.unwrap_or(0),
            cursor: a.cursor.unwrap_or_default(),
        })
        .await?
        .into_inner();
    let v = to_json("ListAuditResponse", &page)?;
    if out == Output::Json {
        return output::json(&v);
    }
    let rows: Vec<_> = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            vec![
                cell(&e["at"]),
                cell(&e["actor"]),
                cell(&e["via"]),
                cell(&e["action"]),
                cell(&e["object"]),
                cell(&e["summary"]),
            ]
        })
        .collect();
    output::table(
        &["AT", "ACTOR", "VIA", "ACTION", "OBJECT", "SUMMARY"],
        &rows,
    )?;
    if !page.next_cursor.is_empty() {
        eprintln!("more: --cursor {}", page.next_cursor);
    }
    Ok(())
}

async fn connections(
    c: &mut Client,
    out: Output,
    request: pb::ListConnectionsRequest,
) -> Result<(), Failure> {
    let page = c.list_connections(request).await?.into_inner();
    let v = to_json("ListConnectionsResponse", &page)?;
    if out == Output::Json {
        return output::json(&v);
    }
    let rows: Vec<_> = page
        .connections
        .iter()
        .map(|e| {
            let virtual_address = if e.virtual_server.is_empty() {
                e.virtual_address.clone()
            } else {
                format!("{} ({})", e.virtual_address, e.virtual_server)
            };
            let state = if e.template {
                format!("{} template", e.state)
            } else {
                e.state.clone()
            };
            vec![
                e.protocol.to_uppercase(),
                e.client.clone(),
                virtual_address,
                e.real.clone(),
                state,
                format!("{} s", e.expires_s),
            ]
        })
        .collect();
    output::table(
        &["PRO", "CLIENT", "VIRTUAL", "REAL", "STATE", "EXPIRES"],
        &rows,
    )?;
    eprintln!("{} matching of {} in the table", page.matched, page.scanned);
    if !page.next_cursor.is_empty() {
        eprintln!("more: --cursor {}", page.next_cursor);
    }
    Ok(())
}

async fn watch(c: &mut Client, out: Output, after: Option<u64>) -> Result<(), Failure> {
    let mut events = c
        .watch(pb::WatchRequest {
            after_revision: after,
        })
        .await?
        .into_inner();
    while let Some(event) = events.message().await? {
        let v = to_json("WatchEvent", &event)?;
        match out {
            Output::Json => output::json_line(&v)?,
            Output::Table => {
                for change in v["changes"].as_array().into_iter().flatten() {
                    output::line(&format!(
                        "revision {}  {}  {} via {}  {} {} {}: {}",
                        event.revision,
                        cell(&change["at"]),
                        cell(&change["actor"]),
                        cell(&change["via"]),
                        cell(&change["action"]),
                        cell(&change["kind"]),
                        cell(&change["object"]),
                        cell(&change["summary"])
                    ))?;
                }
            }
        }
    }
    Ok(())
}
