//! `schedule` events: EventBridge rules that invoke a function on a
//! `rate(...)` or `cron(...)` expression, with EventBridge's scheduled-event
//! payload (or the rule's constant `input`). Like EventBridge, the scheduler
//! invokes asynchronously, through the durable queue.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use serde_json::{json, Value};
use serde_yaml_ng::Value as Yaml;

use crate::aws::LOCAL_ACCOUNT_ID;

/// When a rule fires.
#[derive(Debug, Clone)]
pub enum Expression {
    /// Every so often, starting one period after start-up.
    Rate(Duration),
    /// On EventBridge's six-field cron (`minutes hours day-of-month month
    /// day-of-week year`), in UTC.
    Cron(Box<Cron>),
}

impl Expression {
    /// The next firing strictly after `now`.
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Expression::Rate(period) => Some(now + chrono::Duration::from_std(*period).ok()?),
            Expression::Cron(cron) => cron.find_next_occurrence(&now, false).ok(),
        }
    }
}

impl FromStr for Expression {
    type Err = String;

    /// Parses `rate(5 minutes)` or `cron(0 12 * * ? *)`. Besides
    /// EventBridge's minute, hour and day units, `rate` accepts `seconds`
    /// locally, to try a schedule without waiting a minute.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(inner) = s.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
            let (n, unit) = inner
                .trim()
                .split_once(' ')
                .ok_or_else(|| format!("`{s}` is not `rate(<n> <unit>)`"))?;
            let n: u64 = n
                .parse()
                .map_err(|_| format!("`{n}` in `{s}` is not a whole number"))?;
            if n == 0 {
                return Err(format!("`{s}`: the rate must be at least 1"));
            }
            let unit_secs = match unit.trim() {
                "second" | "seconds" => 1,
                "minute" | "minutes" => 60,
                "hour" | "hours" => 3600,
                "day" | "days" => 86_400,
                other => return Err(format!("`{other}` in `{s}` is not minutes, hours or days")),
            };
            return Ok(Expression::Rate(Duration::from_secs(n * unit_secs)));
        }
        if let Some(inner) = s.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')) {
            let fields = inner.split_whitespace().count();
            if fields != 6 {
                return Err(format!(
                    "`{s}` has {fields} fields; EventBridge cron has six: minutes hours day-of-month month day-of-week year"
                ));
            }
            // croner takes a year only after a seconds field: fire at :00.
            let parser = CronParser::builder()
                .seconds(Seconds::Required)
                .year(Year::Required)
                // EventBridge numbers weekdays 1-7 from Sunday, as Quartz does.
                .alternative_weekdays(true)
                .build();
            let cron = parser
                .parse(&format!("0 {inner}"))
                .map_err(|e| format!("`{s}` is not a valid cron expression: {e}"))?;
            return Ok(Expression::Cron(Box::new(cron)));
        }
        Err(format!("`{s}` is neither `rate(...)` nor `cron(...)`"))
    }
}

/// One schedule of one function.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The function it invokes.
    pub function: String,
    /// The rule's name, as the Serverless Framework would create it.
    pub name: String,
    /// When it fires.
    pub expression: Expression,
    /// The expression as written, e.g. `rate(5 minutes)`.
    pub source: String,
    /// The constant event to send instead of the scheduled-event payload.
    pub input: Option<Value>,
}

impl Rule {
    /// The event of one firing at `time`.
    pub fn event(&self, time: DateTime<Utc>, region: &str) -> Value {
        if let Some(input) = &self.input {
            return input.clone();
        }
        json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": LOCAL_ACCOUNT_ID,
            "time": time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "region": region,
            "resources": [format!("arn:aws:events:{region}:{LOCAL_ACCOUNT_ID}:rule/{}", self.name)],
            "detail": {},
        })
    }
}

/// Reads the `schedule` events of `function`. Returns its rules and a
/// message for each schedule that cannot be used.
pub fn rules_from_events(
    service: &str,
    function: &str,
    events: &[Yaml],
) -> (Vec<Rule>, Vec<String>) {
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    let mut index = 0;
    for event in events {
        let Some(spec) = event.as_mapping().and_then(|m| m.get("schedule")) else {
            continue;
        };
        index += 1;
        let (expressions, enabled, input) = match spec {
            Yaml::String(s) => (vec![s.clone()], true, None),
            Yaml::Mapping(m) => {
                let expressions = match m.get("rate") {
                    Some(Yaml::String(s)) => vec![s.clone()],
                    Some(Yaml::Sequence(list)) => list
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect(),
                    _ => {
                        problems.push(format!("function `{function}`: schedule needs `rate:`"));
                        continue;
                    }
                };
                let enabled = m.get("enabled").and_then(Yaml::as_bool).unwrap_or(true);
                let input = m.get("input").and_then(|v| serde_json::to_value(v).ok());
                (expressions, enabled, input)
            }
            _ => {
                problems.push(format!(
                    "function `{function}`: schedule must be an expression or a map"
                ));
                continue;
            }
        };
        if !enabled {
            continue;
        }
        for expression in expressions {
            match expression.parse::<Expression>() {
                Ok(parsed) => rules.push(Rule {
                    function: function.to_string(),
                    name: format!("{service}-{function}-schedule-{index}"),
                    expression: parsed,
                    source: expression,
                    input: input.clone(),
                }),
                Err(e) => problems.push(format!("function `{function}`: {e}")),
            }
        }
    }
    (rules, problems)
}

/// Fires `rule` forever, queueing each firing's event for its function.
pub async fn run(rule: Rule, queue: crate::trigger::queue::AsyncQueue, region: String) {
    loop {
        let now = Utc::now();
        let Some(next) = rule.expression.next_after(now) else {
            tracing::warn!(rule = %rule.name, "the schedule never fires again");
            return;
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        let job = crate::trigger::queue::Job {
            request_id: uuid::Uuid::new_v4().to_string(),
            function: rule.function.clone(),
            payload: rule.event(next, &region).to_string(),
            client_context: None,
            tenant_id: None,
            attempts: 0,
        };
        if let Err(e) = queue.enqueue(job).await {
            tracing::error!(rule = %rule.name, "cannot queue a scheduled event: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn rates_and_crons_parse_and_fire() {
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 10, 30, 0).unwrap();
        let rate: Expression = "rate(5 minutes)".parse().unwrap();
        assert_eq!(
            rate.next_after(t).unwrap(),
            t + chrono::Duration::minutes(5)
        );
        let noon: Expression = "cron(0 12 * * ? *)".parse().unwrap();
        assert_eq!(
            noon.next_after(t).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
        );
        // 2026-11-25 is a Wednesday; EventBridge's 2 is Monday.
        let monday: Expression = "cron(15 8 ? * 2 *)".parse().unwrap();
        assert_eq!(
            monday.next_after(t).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 30, 8, 15, 0).unwrap()
        );
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        for (bad, says) in [
            ("rate(five minutes)", "whole number"),
            ("rate(5 fortnights)", "not minutes"),
            ("cron(0 12 * * ?)", "six"),
            ("every day", "neither"),
        ] {
            let err = bad.parse::<Expression>().unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn rules_come_from_both_syntaxes() {
        let events: Vec<Yaml> = serde_yaml_ng::from_str(
            "- schedule: rate(1 minute)\n- schedule:\n    rate: [cron(0 * * * ? *)]\n    input: {warmup: true}\n- schedule:\n    rate: rate(2 hours)\n    enabled: false\n",
        )
        .unwrap();
        let (rules, problems) = rules_from_events("svc", "warm", &events);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].input, Some(json!({"warmup": true})));
        let event = rules[0].event(Utc::now(), "us-east-1");
        assert_eq!(event["detail-type"], "Scheduled Event");
        assert_eq!(
            event["resources"][0],
            "arn:aws:events:us-east-1:000000000000:rule/svc-warm-schedule-1"
        );
    }
}
