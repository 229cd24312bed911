"""The conformance behaviours (behaviours.ts) driven by the official Python client
(Debian's python3-kubernetes). Usage: python3 python_client.py KUBECONFIG NAMESPACE.
Prints one JSON object: behaviour id -> "pass" or "fail: why". Each case is independent."""
import json
import sys
import time
import traceback

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

KUBECONFIG, NS = sys.argv[1], sys.argv[2]
config.load_kube_config(config_file=KUBECONFIG)
api = client.ApiClient()
core = client.CoreV1Api(api)
apps = client.AppsV1Api(api)
coord = client.CoordinationV1Api(api)
events = client.EventsV1Api(api)
custom = client.CustomObjectsApi(api)
MIB = 1024 * 1024


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def code(fn, *args, **kwargs):
    """The HTTP status of a call: 200 when it succeeds."""
    try:
        fn(*args, **kwargs)
        return 200
    except ApiException as e:
        return e.status


def raw(method, path, body=None, headers=None):
    """A request the generated API has no method for, with the client's own auth and TLS."""
    h = {"Content-Type": "application/json", "Accept": "application/json"}
    h.update(headers or {})
    try:
        resp = api.call_api(path, method, header_params=h, body=body, auth_settings=["BearerToken"],
                            _preload_content=False, _return_http_data_only=True, _request_timeout=10)
        return resp.status, resp.data.decode()
    except ApiException as e:
        return e.status, e.body if isinstance(e.body, str) else (e.body or b"").decode()


def lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def pod(name, labels=None, **spec):
    s = {"containers": [{"name": "c", "image": "busybox"}]}
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}}, "spec": s}


def lease(name, holder="a", **meta):
    m = {"name": name}
    m.update(meta)
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": m,
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15}}


def vip(name):
    return {"apiVersion": "kubeovn.io/v1", "kind": "Vip", "metadata": {"name": name}, "spec": {"subnet": "ovn-default"}}


LEASES = "/apis/coordination.k8s.io/v1/namespaces/%s/leases" % NS
CASES = {}


def case(fn):
    CASES[fn.__name__.replace("_", "-")] = fn
    return fn


@case
def verbs():
    core.create_namespaced_pod(NS, pod("verbs"))
    p = core.read_namespaced_pod("verbs", NS)
    check(any(x.metadata.name == "verbs" for x in core.list_namespaced_pod(NS).items), "list")
    p.metadata.labels = {"step": "replaced"}
    core.replace_namespaced_pod("verbs", NS, p)
    core.patch_namespaced_pod("verbs", NS, {"metadata": {"labels": {"extra": "yes"}}})
    p = core.read_namespaced_pod("verbs", NS)
    check(p.metadata.labels == {"step": "replaced", "extra": "yes"}, str(p.metadata.labels))
    core.delete_namespaced_pod("verbs", NS)
    check(code(core.read_namespaced_pod, "verbs", NS) == 404, "gone")


@case
def names():
    try:
        core.create_namespace({"metadata": {"name": "Bad"}})
        check(False, "created Bad")
    except ApiException as e:
        check(e.status == 422, "status %s" % e.status)
        status = json.loads(e.body)
        check(status["details"]["causes"][0]["field"] == "metadata.name", e.body)
    check(code(core.create_namespaced_pod, NS, pod("p" * 254)) == 422, "254 chars")
    check(code(core.create_namespaced_pod, NS, pod("lbl", {"app": "a b"})) == 422, "label value")


@case
def size():
    def env(n):
        return [{"name": "c", "image": "b", "env": [{"name": "X", "value": "x" * n}]}]
    check(code(core.create_namespaced_pod, NS, pod("huge", containers=env(4 * MIB))) == 413, "413")
    check(code(core.create_namespaced_pod, NS, pod("large", containers=env(2 * MIB))) == 500, "500")


@case
def label_selector():
    core.create_namespaced_pod(NS, pod("web", {"app": "web"}))
    core.create_namespaced_pod(NS, pod("db", {"app": "db"}))
    names = [p.metadata.name for p in core.list_namespaced_pod(NS, label_selector="app=web").items]
    check(names == ["web"], str(names))


@case
def field_selector():
    core.create_namespaced_pod(NS, pod("on-n1", nodeName="n1"))
    names = [p.metadata.name for p in core.list_namespaced_pod(NS, field_selector="spec.nodeName=n1").items]
    check(names == ["on-n1"], str(names))
    check(code(core.list_namespaced_pod, NS, field_selector="spec.image=x") == 400, "400")


@case
def pagination():
    for n in ("pg-a", "pg-b", "pg-c"):
        coord.create_namespaced_lease(NS, lease(n))
    names, token = [], None
    for _ in range(10):
        page = coord.list_namespaced_lease(NS, limit=1, _continue=token)
        names += [x.metadata.name for x in page.items]
        token = page.metadata._continue
        if not token:
            break
    check([n for n in names if n.startswith("pg-")] == ["pg-a", "pg-b", "pg-c"], str(names))


@case
def watch_():
    rv = coord.list_namespaced_lease(NS).metadata.resource_version
    coord.create_namespaced_lease(NS, lease("w"))
    coord.patch_namespaced_lease("w", NS, {"metadata": {"labels": {"x": "y"}}})
    coord.delete_namespaced_lease("w", NS)
    seen = []
    w = watch.Watch()
    for ev in w.stream(coord.list_namespaced_lease, NS, resource_version=rv, timeout_seconds=2):
        if ev["object"].metadata.name == "w":
            seen.append(ev["type"])
        if ev["type"] == "DELETED":
            w.stop()
    check(seen == ["ADDED", "MODIFIED", "DELETED"], str(seen))


CASES["watch"] = CASES.pop("watch-")


@case
def bool_params():
    coord.create_namespaced_lease(NS, lease("b"))
    # The client's own watch sends watch=True.
    w = watch.Watch()
    first = next(iter(w.stream(coord.list_namespaced_lease, NS, timeout_seconds=2)))
    w.stop()
    check(first["type"] == "ADDED", str(first["type"]))
    for v in ("yes",):
        status, text = raw("GET", LEASES + "?watch=%s&timeoutSeconds=1" % v)
        check(status == 200 and lines(text)[0]["type"] == "ADDED", "watch=%s: %s" % (v, text[:80]))
    for v in ("False", "0"):
        status, text = raw("GET", LEASES + "?watch=" + v)
        check(json.loads(text)["kind"] == "LeaseList", "watch=" + v)


@case
def int_params():
    check(raw("GET", LEASES + "?limit=1e2")[0] == 400, "limit=1e2")
    check(raw("GET", LEASES + "?watch=1&timeoutSeconds=0x10")[0] == 400, "timeoutSeconds=0x10")
    t0 = time.time()
    check(raw("GET", LEASES + "?watch=1&timeoutSeconds=1")[0] == 200, "watch")
    check(time.time() - t0 < 5, "ended")


@case
def watch_list():
    coord.create_namespaced_lease(NS, lease("wl"))
    status, text = raw("GET", LEASES + "?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                       "&allowWatchBookmarks=true&timeoutSeconds=1")
    ev = lines(text)
    check(any(e["type"] == "ADDED" and e["object"]["metadata"]["name"] == "wl" for e in ev), "initial ADDED")
    check(any(e["type"] == "BOOKMARK" and e["object"]["metadata"].get("annotations", {})
              .get("k8s.io/initial-events-end") == "true" for e in ev), "end bookmark")
    check(raw("GET", LEASES + "?watch=1&sendInitialEvents=true")[0] == 422, "422 without resourceVersionMatch")


@case
def conflict():
    l = coord.create_namespaced_lease(NS, lease("cf"))
    coord.patch_namespaced_lease("cf", NS, {"spec": {"holderIdentity": "b"}})
    check(code(coord.replace_namespaced_lease, "cf", NS, l) == 409, "stale")
    check(code(coord.create_namespaced_lease, NS, lease("cf")) == 409, "exists")


@case
def gone():
    l = coord.create_namespaced_lease(NS, lease("old"))
    for i in range(10):  # more than the server's history of 8 (HISTORY_WRITES in behaviours.ts)
        coord.patch_namespaced_lease("old", NS, {"metadata": {"annotations": {"n": str(i)}}})
    status, text = raw("GET", LEASES + "?watch=1&timeoutSeconds=2&resourceVersion=" + l.metadata.resource_version)
    ev = lines(text)
    check(ev[0]["type"] == "ERROR" and ev[0]["object"]["code"] == 410, text[:200])
    try:
        for ev in watch.Watch().stream(coord.list_namespaced_lease, NS, resource_version=l.metadata.resource_version,
                                       timeout_seconds=2):
            check(ev["type"] == "ERROR" and ev["raw_object"]["code"] == 410, str(ev)[:200])
            break
    except ApiException as e:
        check(e.status == 410, "status %s" % e.status)


@case
def dry_run():
    d = coord.create_namespaced_lease(NS, lease("dry"), dry_run="All")
    check(d.metadata.uid and not d.metadata.resource_version, "dry-run answer")
    check(code(coord.read_namespaced_lease, "dry", NS) == 404, "not stored")
    coord.create_namespaced_lease(NS, lease("dry"))
    coord.patch_namespaced_lease("dry", NS, {"metadata": {"labels": {"x": "y"}}}, dry_run="All")
    coord.delete_namespaced_lease("dry", NS, dry_run="All")
    check(not coord.read_namespaced_lease("dry", NS).metadata.labels, "unchanged")


@case
def server_side_apply():
    coord.create_namespaced_lease(NS, lease("ssa"))
    # YAML is a superset of JSON: the apply body as text (the client serializes dicts only as JSON types).
    status, _ = raw("PATCH", LEASES + "/ssa?fieldManager=conformance&force=true", body=json.dumps(lease("ssa", "b")),
                    headers={"Content-Type": "application/apply-patch+yaml"})
    check(status == 415, "status %s" % status)


@case
def finalizers_propagation():
    coord.create_namespaced_lease(NS, lease("fin", finalizers=["example.com/hold"]))
    coord.delete_namespaced_lease("fin", NS)
    check(coord.read_namespaced_lease("fin", NS).metadata.deletion_timestamp, "held")
    coord.patch_namespaced_lease("fin", NS, {"metadata": {"finalizers": None}})
    check(code(coord.read_namespaced_lease, "fin", NS) == 404, "released")
    for policy in ("Orphan", "Background", "Foreground"):
        owner = coord.create_namespaced_lease(NS, lease("own-" + policy.lower()))
        ref = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "name": owner.metadata.name,
               "uid": owner.metadata.uid}
        coord.create_namespaced_lease(NS, lease("dep-" + policy.lower(), ownerReferences=[ref]))
        coord.delete_namespaced_lease(owner.metadata.name, NS, propagation_policy=policy)
        kept = code(coord.read_namespaced_lease, "dep-" + policy.lower(), NS) == 200
        check(kept == (policy == "Orphan"), "%s: dependent kept=%s" % (policy, kept))


@case
def status_subresource():
    name = NS + "-st"
    custom.create_cluster_custom_object("kubeovn.io", "v1", "vips", vip(name))
    custom.patch_cluster_custom_object_status("kubeovn.io", "v1", "vips", name,
                                              {"status": {"v4ip": "10.16.0.9"}, "spec": {"subnet": "x"}})
    v = custom.get_cluster_custom_object("kubeovn.io", "v1", "vips", name)
    check(v["status"]["v4ip"] == "10.16.0.9" and v["spec"]["subnet"] == "ovn-default", str(v))


@case
def scale_subresource():
    tpl = {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "c", "image": "b"}]}}
    apps.create_namespaced_stateful_set(NS, {"metadata": {"name": "db"}, "spec": {
        "replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}}, "template": tpl}})
    apps.patch_namespaced_stateful_set_scale("db", NS, {"spec": {"replicas": 5}})
    check(apps.read_namespaced_stateful_set_scale("db", NS).spec.replicas == 5, "scale")
    check(apps.read_namespaced_stateful_set("db", NS).spec.replicas == 5, "replicas")


@case
def table():
    coord.create_namespaced_lease(NS, lease("tb"))
    status, text = raw("GET", LEASES, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    t = json.loads(text)
    check(t["kind"] == "Table" and any(r["cells"][0] == "tb" for r in t["rows"]), text[:120])


@case
def leases():
    l = coord.create_namespaced_lease(NS, lease("relay", "pod-a"))
    l.spec.holder_identity = "pod-b"
    r = coord.replace_namespaced_lease("relay", NS, l)
    check(r.spec.holder_identity == "pod-b" and r.metadata.resource_version != l.metadata.resource_version, "renewed")


@case
def events_core():
    name = NS + "-ev"
    core.create_namespaced_event(NS, {"metadata": {"name": name + ".1"}, "involvedObject": {"kind": "Vip", "name": name},
                                      "reason": "AddressAllocated", "message": "m", "type": "Normal"})
    items = core.list_event_for_all_namespaces(
        field_selector="involvedObject.kind=Vip,involvedObject.name=" + name).items
    check(len(items) == 1 and items[0].reason == "AddressAllocated", str(items))


@case
def events_v1():
    events.create_namespaced_event(NS, {"metadata": {"name": "ev2"}, "eventTime": "2026-01-01T00:00:00.000000Z",
                                        "reportingController": "vipres", "reportingInstance": "r1", "action": "A",
                                        "reason": "R", "regarding": {"kind": "Vip", "name": "v"}, "note": "hello",
                                        "type": "Normal"})
    c = core.read_namespaced_event("ev2", NS)
    check(c.involved_object.name == "v" and c.message == "hello", "core view")
    items = events.list_namespaced_event(NS, field_selector="regarding.name=v").items
    check(len(items) == 1 and items[0].note == "hello", "events.k8s.io list")


@case
def not_served():
    status, text = raw("GET", "/apis/apps/v1/namespaces/%s/deployments" % NS)
    check(status == 404 and json.loads(text)["kind"] == "Status", text)
    status, text = raw("POST", LEASES + "/x", body=lease("x"))
    check(status == 405 and json.loads(text)["reason"] == "MethodNotAllowed", text)


results = {}
for cid, fn in CASES.items():
    t0 = time.time()
    try:
        fn()
        results[cid] = "pass"
    except Exception as e:  # one case's failure must not hide the others
        results[cid] = "fail: %s" % (str(e) or traceback.format_exc(limit=2)).strip()[:300]
    print("%s %.2fs %s" % (cid, time.time() - t0, results[cid][:100]), file=sys.stderr)
print(json.dumps(results))
