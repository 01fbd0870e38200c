//! Tenant isolation through the real host: every tenant gets its own
//! instances, the tenant id must fit the function, reserved concurrency
//! counts every tenant, and idle tenants are reaped.

use std::sync::Arc;
use std::time::Duration;

use wasmfn::{Function, FunctionConfig, InvokeRequest, Refused, TenantError};

use crate::support::{host, js_probe, json, load, py_probe};

fn isolated(reserved: Option<u32>) -> Arc<Function> {
    let mut config = FunctionConfig::new("tenants");
    config.tenant_isolation = true;
    config.pool.reserved_concurrency = reserved;
    config.timeout = Duration::from_secs(5);
    load(&host(), "probe", config)
}

fn for_tenant(tenant: Option<&str>) -> InvokeRequest {
    InvokeRequest {
        tenant_id: tenant.map(str::to_string),
        ..InvokeRequest::default()
    }
}

async fn counter(f: &Arc<Function>, tenant: &str) -> serde_json::Value {
    let inv = f
        .invoke(br#"{"action":"counter"}"#, for_tenant(Some(tenant)))
        .await
        .expect("not refused");
    assert_eq!(inv.tenant_id.as_deref(), Some(tenant));
    json(&inv.result.unwrap())
}

#[tokio::test]
async fn each_tenant_has_its_own_instances_and_globals() {
    let f = isolated(None);
    assert_eq!(counter(&f, "blue").await["invocations"], 1);
    assert_eq!(counter(&f, "blue").await["invocations"], 2);
    let green = counter(&f, "green").await;
    assert_eq!(green["invocations"], 1, "green never sees blue's globals");
    assert_eq!(green["tenantId"], "green");
    assert_eq!(counter(&f, "blue").await["invocations"], 3);
    assert_eq!(f.tenants(), 2);
    let stats = f.pool_stats();
    assert_eq!(stats.cold_starts, 2);
    assert_eq!(stats.warm_starts, 2);
}

#[tokio::test]
async fn a_tenant_id_must_fit_the_function() {
    let f = isolated(None);
    let missing = f.invoke(b"{}", for_tenant(None)).await.unwrap_err();
    assert_eq!(
        missing,
        Refused::Tenant(TenantError::Mismatch { isolated: true })
    );
    assert!(missing.to_string().contains("Tenant ID configuration"));
    for bad in ["", "semi;colon", &"x".repeat(257)] {
        let refused = f.invoke(b"{}", for_tenant(Some(bad))).await.unwrap_err();
        assert!(
            matches!(refused, Refused::Tenant(TenantError::Invalid(_))),
            "{bad:?}: {refused:?}"
        );
    }
    // Every character the service model allows.
    let odd = "a-Z_0.9:/=+@ x";
    assert_eq!(counter(&f, odd).await["tenantId"], odd);

    let shared = load(&host(), "probe", FunctionConfig::new("shared"));
    let unwanted = shared
        .invoke(b"{}", for_tenant(Some("blue")))
        .await
        .unwrap_err();
    assert_eq!(
        unwanted,
        Refused::Tenant(TenantError::Mismatch { isolated: false })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_concurrency_counts_every_tenant() {
    let f = isolated(Some(1));
    let busy = {
        let f = f.clone();
        tokio::spawn(async move {
            f.invoke(br#"{"action":"sleep","n":500}"#, for_tenant(Some("blue")))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let other = f
        .invoke(br#"{"action":"counter"}"#, for_tenant(Some("green")))
        .await;
    assert!(
        matches!(other, Err(Refused::Throttled(_))),
        "green is throttled while blue holds the one slot: {other:?}"
    );
    assert!(busy.await.unwrap().unwrap().result.is_ok());
    assert_eq!(counter(&f, "green").await["invocations"], 1);
}

#[tokio::test]
async fn tenants_past_the_engine_s_slots_take_the_longest_idle_tenant_s() {
    // The test host has 20 instance slots.
    let f = isolated(None);
    for i in 0..30 {
        let tenant = format!("t{i}");
        assert_eq!(counter(&f, &tenant).await["invocations"], 1, "{tenant}");
    }
    // The first tenants' instances made way: t0 starts cold again.
    assert_eq!(counter(&f, "t0").await["invocations"], 1);
    // The most recent ones are still warm.
    assert_eq!(counter(&f, "t29").await["invocations"], 2);
}

#[tokio::test]
async fn another_function_on_the_engine_takes_a_slot_from_an_idle_tenant() {
    let host = host();
    let mut config = FunctionConfig::new("tenants");
    config.tenant_isolation = true;
    let tenants = load(&host, "probe", config);
    for i in 0..20 {
        counter(&tenants, &format!("t{i}")).await;
    }
    // Every one of the test host's 20 slots holds an idle tenant instance.
    let other = load(&host, "probe", FunctionConfig::new("other"));
    let inv = other
        .invoke(br#"{"action":"counter"}"#, InvokeRequest::default())
        .await
        .unwrap();
    assert_eq!(json(&inv.result.unwrap())["invocations"], 1);
    assert_eq!(
        tenants.pool_stats().idle,
        19,
        "the longest-idle tenant made way"
    );
    assert_eq!(counter(&tenants, "t19").await["invocations"], 2);
}

#[tokio::test]
async fn idle_tenants_are_reaped_with_their_pools() {
    let mut config = FunctionConfig::new("tenants");
    config.tenant_isolation = true;
    config.pool.idle_timeout = Some(Duration::from_millis(50));
    let f = load(&host(), "probe", config);
    counter(&f, "blue").await;
    counter(&f, "green").await;
    assert_eq!(f.tenants(), 2);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(f.reap_idle(), 2);
    assert_eq!(f.tenants(), 0);
    assert_eq!(
        counter(&f, "blue").await["invocations"],
        1,
        "a new instance"
    );
}

#[test]
fn tenant_isolation_refuses_what_lambda_refuses() {
    let host = host();
    let mut config = FunctionConfig::new("tenants");
    config.tenant_isolation = true;
    config.snap_start = true;
    let err = host
        .load(&crate::support::guest("probe"), config.clone())
        .err()
        .expect("refused");
    assert!(err.to_string().contains("snapStart"), "{err}");
    config.snap_start = false;
    config.pool.spares = 1;
    let err = host
        .load(&crate::support::guest("probe"), config)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("provisioned concurrency"), "{err}");
}

#[tokio::test]
async fn node_and_python_handlers_see_their_tenant_and_only_theirs() {
    let host = host();
    let js = js_probe();
    let mut config = FunctionConfig::new("js-tenants");
    config.handler = Some("index.handler".into());
    config.task_root = Some(js.task_root);
    config.tenant_isolation = true;
    let f = host.load(&js.engine, config).expect("load");
    let ask = |f: Arc<Function>, action: &'static str, tenant: &'static str| async move {
        let body = format!(r#"{{"action":"{action}"}}"#);
        let inv = f
            .invoke(body.as_bytes(), for_tenant(Some(tenant)))
            .await
            .unwrap();
        json(&inv.result.unwrap())
    };
    assert_eq!(ask(f.clone(), "context", "blue").await["tenantId"], "blue");
    assert_eq!(ask(f.clone(), "counter", "blue").await["invocations"], 2);
    assert_eq!(ask(f.clone(), "counter", "green").await["invocations"], 1);

    let py = py_probe();
    let mut config = FunctionConfig::new("py-tenants");
    config.handler = Some("probe.handler".into());
    config.task_root = Some(py.task_root);
    config.tenant_isolation = true;
    let f = host.load(&py.engine, config).expect("load");
    let blue = ask(f.clone(), "tenant", "blue").await;
    assert_eq!(
        blue,
        serde_json::json!({"tenantId": "blue", "invocations": 1})
    );
    assert_eq!(ask(f.clone(), "tenant", "blue").await["invocations"], 2);
    assert_eq!(ask(f, "tenant", "green").await["invocations"], 1);
}
