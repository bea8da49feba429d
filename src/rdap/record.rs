//! RFC 9083 answers read leniently: a domain or IP network object as a [`Record`], and the
//! part a victim needs as a [`Summary`] — who runs the site or network, its registrar, the
//! abuse contact, name servers, dates.
//!
//! The JSON is walked as a `serde_json::Value`, never deserialized into strict types: real
//! servers leave members out, put arrays where strings are expected and redact what they
//! like. A member of the wrong shape counts as absent; only a body that is not JSON, or not
//! an RDAP object at all, is an error. Entities nest (the abuse contact of a domain usually
//! sits inside the registrar entity, an IP network's inside its registrant); they are
//! flattened into [`Contact`]s that remember the roles of the entity they were found in,
//! down to [`MAX_DEPTH`] levels.
//!
//! Redaction: a value such as `REDACTED FOR PRIVACY` or `非公開` is kept as written and
//! flagged by [`is_redacted`]; RFC 9537 `redacted` members are listed by name. Display code
//! shows absent and redacted values as such, never as empty.

use serde::Serialize;
use serde_json::Value;

/// Entity nesting followed (deeper entities are ignored).
pub const MAX_DEPTH: usize = 4;

/// One RDAP object (domain or IP network), as far as it was understood.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Record {
    /// `objectClassName` (`domain`, `ip network`, …).
    pub object_class: String,
    /// The registry's handle.
    pub handle: Option<String>,
    /// Domain name (LDH form).
    pub ldh_name: Option<String>,
    /// Domain name in Unicode, when given.
    pub unicode_name: Option<String>,
    /// Network name (IP networks).
    pub name: Option<String>,
    /// First address (IP networks).
    pub start_address: Option<String>,
    /// Last address (IP networks).
    pub end_address: Option<String>,
    /// `v4` or `v6`.
    pub ip_version: Option<String>,
    /// Country code (IP networks).
    pub country: Option<String>,
    /// Allocation type (IP networks: `ALLOCATED PORTABLE`, …).
    pub network_type: Option<String>,
    /// Parent network handle.
    pub parent_handle: Option<String>,
    /// Status values.
    pub status: Vec<String>,
    /// Name servers (LDH names).
    pub nameservers: Vec<String>,
    /// Events (registration, expiration, last changed, …).
    pub events: Vec<Event>,
    /// Every entity, nested ones included.
    pub contacts: Vec<Contact>,
    /// Fields the server says it redacted (RFC 9537).
    pub redacted: Vec<String>,
    /// Titles and texts of the object's remarks and notices.
    pub remarks: Vec<String>,
    /// The port-43 WHOIS server, when named.
    pub port43: Option<String>,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// `eventAction`.
    pub action: String,
    /// `eventDate` as written.
    pub date: String,
}

/// One entity with its vCard read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Contact {
    /// Its roles (`registrar`, `registrant`, `abuse`, `technical`, `administrative`, …).
    pub roles: Vec<String>,
    /// Roles of the entity it is nested in (empty at the top level).
    pub within: Vec<String>,
    /// Handle.
    pub handle: Option<String>,
    /// vCard `fn`.
    pub name: Option<String>,
    /// vCard `org`.
    pub org: Option<String>,
    /// vCard `kind` (`individual`, `org`, `group`).
    pub kind: Option<String>,
    /// vCard `email`s.
    pub emails: Vec<String>,
    /// vCard `tel`s (the `tel:` scheme removed).
    pub phones: Vec<String>,
    /// vCard `adr` (its label, else the components joined).
    pub address: Option<String>,
    /// `publicIds` (`IANA Registrar ID: 1234`).
    pub ids: Vec<String>,
}

impl Contact {
    /// Whether the contact has this role.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
    }

    /// Its display name: `org`, else `fn`, else the handle.
    pub fn label(&self) -> Option<&str> {
        self.org
            .as_deref()
            .or(self.name.as_deref())
            .or(self.handle.as_deref())
    }
}

/// Whether a value is a redaction placeholder (`REDACTED FOR PRIVACY`, `Data Protected`,
/// `非公開`, `withheld`, …) rather than data.
pub fn is_redacted(value: &str) -> bool {
    let v = value.to_lowercase();
    [
        "redacted",
        "withheld",
        "not disclosed",
        "data protected",
        "privacy",
        "非公開",
        "非表示",
    ]
    .iter()
    .any(|w| v.contains(w))
}

/// A value for display: the value, `redacted (…)` or the `absent` text.
pub fn shown(value: Option<&str>, absent: &str) -> String {
    match value {
        None => absent.to_string(),
        Some(v) if is_redacted(v) => format!("redacted ({v})"),
        Some(v) => v.to_string(),
    }
}

impl Record {
    /// Parses an RDAP answer. Errors (lower-case, no trailing period) say why it is not one:
    /// not JSON, not an object, an RFC 9083 error response.
    pub fn parse(body: &[u8]) -> Result<Record, String> {
        let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        let Some(obj) = v.as_object() else {
            return Err("not an RDAP object (the JSON is not an object)".into());
        };
        if let Some(code) = obj.get("errorCode") {
            let title = str_of(&v, "title").unwrap_or_default();
            let desc = texts(v.get("description")).join(" ");
            return Err(format!("RDAP error response {code}: {title} {desc}")
                .trim()
                .to_string());
        }
        let class = str_of(&v, "objectClassName");
        if class.is_none() && obj.get("ldhName").is_none() && obj.get("startAddress").is_none() {
            return Err("not an RDAP object (no objectClassName, ldhName or startAddress)".into());
        }
        let mut r = Record {
            object_class: class.unwrap_or_default(),
            handle: str_of(&v, "handle"),
            ldh_name: str_of(&v, "ldhName").map(|s| s.to_ascii_lowercase()),
            unicode_name: str_of(&v, "unicodeName"),
            name: str_of(&v, "name"),
            start_address: str_of(&v, "startAddress"),
            end_address: str_of(&v, "endAddress"),
            ip_version: str_of(&v, "ipVersion"),
            country: str_of(&v, "country"),
            network_type: str_of(&v, "type"),
            parent_handle: str_of(&v, "parentHandle"),
            status: texts(v.get("status")),
            port43: str_of(&v, "port43"),
            ..Record::default()
        };
        r.nameservers = array(&v, "nameservers")
            .filter_map(|ns| str_of(ns, "ldhName").map(|s| s.to_ascii_lowercase()))
            .collect();
        r.events = events(&v);
        collect_entities(&v, &[], 0, &mut r.contacts);
        r.redacted = array(&v, "redacted").filter_map(redaction).collect();
        for key in ["remarks", "notices"] {
            for item in array(&v, key) {
                let title = str_of(item, "title");
                let desc = texts(item.get("description")).join(" ");
                let line = match title {
                    Some(t) if desc.is_empty() => t,
                    Some(t) => format!("{t}: {desc}"),
                    None => desc,
                };
                if !line.trim().is_empty() {
                    r.remarks.push(line);
                }
            }
        }
        Ok(r)
    }

    /// Whether this is an IP network object.
    pub fn is_network(&self) -> bool {
        self.object_class.eq_ignore_ascii_case("ip network") || self.start_address.is_some()
    }

    /// The date of the first event with this action (`registration`, `expiration`,
    /// `last changed`).
    pub fn event(&self, action: &str) -> Option<&str> {
        self.events
            .iter()
            .find(|e| e.action.eq_ignore_ascii_case(action))
            .map(|e| e.date.as_str())
    }

    /// The first contact with `role` (top-level ones first).
    pub fn contact(&self, role: &str) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.has_role(role))
    }

    /// What a victim needs from the record.
    pub fn summary(&self) -> Summary {
        let registrant = self.contact("registrant").cloned();
        let operator = if self.is_network() {
            registrant
                .or_else(|| self.contact("administrative").cloned())
                .or_else(|| {
                    self.name.as_ref().map(|n| Contact {
                        roles: vec!["network".into()],
                        name: Some(n.clone()),
                        handle: self.handle.clone(),
                        ..Contact::default()
                    })
                })
        } else {
            registrant
        };
        let registrar = self.contact("registrar").cloned();
        let abuse: Vec<Contact> = self
            .contacts
            .iter()
            .filter(|c| c.has_role("abuse"))
            .cloned()
            .collect();
        Summary {
            object: self.object_class.clone(),
            name: self
                .ldh_name
                .clone()
                .or_else(|| self.name.clone())
                .or_else(|| self.handle.clone()),
            operator,
            registrar,
            abuse,
            nameservers: self.nameservers.clone(),
            status: self.status.clone(),
            registered: self.event("registration").map(str::to_string),
            expires: self.event("expiration").map(str::to_string),
            last_changed: self.event("last changed").map(str::to_string),
            network: self.is_network().then(|| Network {
                handle: self.handle.clone(),
                name: self.name.clone(),
                range: match (&self.start_address, &self.end_address) {
                    (Some(a), Some(b)) => Some(format!("{a} - {b}")),
                    (Some(a), None) => Some(a.clone()),
                    _ => None,
                },
                country: self.country.clone(),
                network_type: self.network_type.clone(),
            }),
            redacted: self.redacted.clone(),
        }
    }
}

/// The answer in brief.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// `objectClassName`.
    pub object: String,
    /// The domain or network name.
    pub name: Option<String>,
    /// Who runs the site (domain registrant) or network (registrant, else administrative
    /// contact, else the network's own name); `None` when not published.
    pub operator: Option<Contact>,
    /// The registrar (domains).
    pub registrar: Option<Contact>,
    /// Every abuse contact (nested under the registrar or registrant, usually).
    pub abuse: Vec<Contact>,
    /// Name servers.
    pub nameservers: Vec<String>,
    /// Status values.
    pub status: Vec<String>,
    /// Registration date.
    pub registered: Option<String>,
    /// Expiration date.
    pub expires: Option<String>,
    /// Last change.
    pub last_changed: Option<String>,
    /// IP network details.
    pub network: Option<Network>,
    /// Fields the server redacted (RFC 9537).
    pub redacted: Vec<String>,
}

/// An IP network in brief.
#[derive(Debug, Clone, Serialize)]
pub struct Network {
    /// Handle (`JPNIC-NET-JP-…`).
    pub handle: Option<String>,
    /// Network name.
    pub name: Option<String>,
    /// `start - end`.
    pub range: Option<String>,
    /// Country code.
    pub country: Option<String>,
    /// Allocation type.
    pub network_type: Option<String>,
}

/// A string member, trimmed; empty counts as absent.
fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// An array member's elements (nothing when absent or not an array).
fn array<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
}

/// A string, or the strings of an array, non-empty.
fn texts(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => vec![s.trim().to_string()],
        Some(Value::Array(a)) => a.iter().flat_map(|x| texts(Some(x))).collect(),
        _ => Vec::new(),
    }
}

fn events(v: &Value) -> Vec<Event> {
    array(v, "events")
        .filter_map(|e| {
            Some(Event {
                action: str_of(e, "eventAction")?,
                date: str_of(e, "eventDate")?,
            })
        })
        .collect()
}

/// An RFC 9537 `redacted` member as `name (method: reason)`.
fn redaction(v: &Value) -> Option<String> {
    let name = v.get("name").and_then(|n| {
        str_of(n, "type")
            .or_else(|| str_of(n, "description"))
            .or_else(|| n.as_str().map(str::to_string))
    })?;
    let method = str_of(v, "method");
    let reason = v.get("reason").and_then(|r| {
        str_of(r, "description")
            .or_else(|| str_of(r, "type"))
            .or_else(|| r.as_str().map(str::to_string))
    });
    Some(match (method, reason) {
        (Some(m), Some(r)) => format!("{name} ({m}: {r})"),
        (Some(m), None) => format!("{name} ({m})"),
        (None, Some(r)) => format!("{name} ({r})"),
        (None, None) => name,
    })
}

fn collect_entities(v: &Value, within: &[String], depth: usize, out: &mut Vec<Contact>) {
    if depth >= MAX_DEPTH {
        return;
    }
    let entities: Vec<&Value> = array(v, "entities").collect();
    // Top-level entities first, then what they hold, so `contact(role)` prefers the outer.
    let mut nested = Vec::new();
    for e in entities {
        if !e.is_object() {
            continue;
        }
        let c = contact(e, within);
        nested.push((e, c.roles.clone()));
        out.push(c);
    }
    for (e, roles) in nested {
        collect_entities(e, &roles, depth + 1, out);
    }
}

fn contact(e: &Value, within: &[String]) -> Contact {
    let mut c = Contact {
        roles: texts(e.get("roles"))
            .into_iter()
            .map(|r| r.to_ascii_lowercase())
            .collect(),
        within: within.to_vec(),
        handle: str_of(e, "handle"),
        ids: array(e, "publicIds")
            .filter_map(|p| match (str_of(p, "type"), str_of(p, "identifier")) {
                (Some(t), Some(i)) => Some(format!("{t}: {i}")),
                (None, Some(i)) => Some(i),
                _ => None,
            })
            .collect(),
        ..Contact::default()
    };
    // ["vcard", [[name, params, type, value, …], …]]
    let props = e
        .get("vcardArray")
        .and_then(Value::as_array)
        .and_then(|a| a.get(1))
        .and_then(Value::as_array);
    for prop in props.map(|p| p.as_slice()).unwrap_or_default() {
        let Some(items) = prop.as_array() else {
            continue;
        };
        let Some(name) = items.first().and_then(Value::as_str) else {
            continue;
        };
        let params = items.get(1);
        let value = vcard_value(&items[items.len().min(3)..]);
        match name.to_ascii_lowercase().as_str() {
            "fn" => c.name = c.name.take().or(value),
            "org" => c.org = c.org.take().or(value),
            "kind" => c.kind = c.kind.take().or(value),
            "email" => c.emails.extend(value),
            "tel" => c
                .phones
                .extend(value.map(|t| t.strip_prefix("tel:").map_or(t.clone(), |s| s.to_string()))),
            "adr" => {
                let label = params.and_then(|p| str_of(p, "label"));
                c.address = c.address.take().or(label).or(value);
            }
            _ => {}
        }
    }
    c
}

/// The value(s) of one vCard property: strings joined, nested arrays (structured `adr`,
/// `org`) flattened, empty parts skipped.
fn vcard_value(values: &[Value]) -> Option<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if !s.trim().is_empty() => out.push(s.trim().to_string()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Number(n) => out.push(n.to_string()),
            _ => {}
        }
    }
    let mut parts = Vec::new();
    values.iter().for_each(|v| walk(v, &mut parts));
    (!parts.is_empty()).then(|| parts.join(", "))
}
