#!/usr/bin/env python3
"""Validates the Grafana dashboard and the rule file against a live exporter.

check_dashboard.py --dashboard FILE --rules FILE [--metrics-url URL] [--deadline S]
                   [--metric-list FILE] [--allow-missing NAME]...
                   [--prometheus-url URL [--allow-empty PANEL/REFID]...] [--runbook FILE]

Checks, printing every problem before exiting 1:
  - the dashboard is JSON with the structure Grafana's importer needs: a
    datasource template variable, vendor/model/target query variables,
    unique panel ids, a gridPos and a Prometheus datasource on every panel,
    an expr and a unique refId on every target, no undefined $variable;
  - every metric name in every panel expression, variable query and rule
    expression is either a recording rule of the rule file or present in a
    scrape of --metrics-url (polled until all appear or --deadline passes,
    since billing and reconciliation series come after the first polls);
    without --metrics-url, present in --metric-list (one name a line);
  - every label name in a selector's matchers exists on that metric in the
    scrape (or is one Prometheus adds: instance, job);
  - with --prometheus-url (a Prometheus that scrapes --metrics-url and runs
    --rules): every panel query and variable, with the variables set to "All",
    returns data (polled until all do or --deadline passes), except the ones
    given with --allow-empty, which only warn;
  - with --runbook (docs/runbook.md): every alert has a severity label, a
    summary, a description and a runbook_url pointing at a heading of the
    runbook that is named after the alert.

Standard library only: PromQL and the rule file's YAML are read with small
purpose-built scanners that understand what these two files use, not the
full languages.
"""

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
    "group_right", "bool", "offset", "inf", "nan", "atan2", "start", "end",
    # Aggregation operators: "sum by (x) (...)" puts no "(" right after them.
    "sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk",
    "quantile", "count_values", "group",
}
# Series Prometheus itself creates for every scrape target.
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
             "scrape_samples_post_metric_relabeling", "scrape_series_added"}
PROMETHEUS_LABELS = {"instance", "job", "le", "__name__"}
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range", "__range_s",
                    "__interval_ms", "__range_ms", "__dashboard", "__from", "__to",
                    "__all", "__name", "__org", "__user", "timeFilter", "__timeFilter"}
IDENT = r"[a-zA-Z_:][a-zA-Z0-9_:]*"


def strip_grafana_vars(expr):
    expr = re.sub(r"\$\{[^}]*\}", "X", expr)
    return re.sub(r"\$\w+", "X", expr)


def grafana_vars(expr):
    names = set(re.findall(r"\$\{(\w+)(?::\w+)?\}", expr))
    names |= set(re.findall(r"\$(\w+)", expr))
    names |= set(re.findall(r"\[\[(\w+)\]\]", expr))
    return names


def selectors(expr):
    """Yields (metric name or None, label names) for each vector selector."""
    expr = strip_grafana_vars(expr)
    # Strings first, so that nothing inside a matcher value is seen as a name;
    # each becomes "<index>" to look up a __name__ matcher's value later.
    strings = []

    def keep(m):
        strings.append(m.group(0)[1:-1])
        return '"%d"' % (len(strings) - 1)

    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', keep, expr)
    expr = re.sub(r"#[^\n]*", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges and subqueries
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", expr)
    out = []
    # A selector: name{...}, name, or {...} alone.
    pattern = re.compile(r"(?<![a-zA-Z0-9_:.])(" + IDENT + r")?\s*(\{[^}]*\})?")
    pos = 0
    while pos < len(expr):
        m = pattern.match(expr, pos)
        if not m or m.end() == pos:
            pos += 1
            continue
        name, braces = m.group(1), m.group(2)
        pos = m.end()
        if name is not None:
            if name in KEYWORDS:
                continue
            if re.match(r"\s*\(", expr[m.end(1):]) and braces is None:
                continue  # a function or aggregation
            # A number such as 1e3 or a duration like 5m is not preceded by a
            # letter, so the lookbehind already kept it out.
        if name is None and braces is None:
            continue
        labels = set()
        names = [name]
        if braces:
            for lm in re.finditer(r"(" + IDENT + r')\s*(=~|!~|!=|=)\s*"(\d+)"', braces):
                labels.add(lm.group(1))
                if lm.group(1) == "__name__" and name is None and lm.group(2) in ("=", "=~"):
                    # {__name__=~"a|b"}: each alternative is a metric name.
                    names = strings[int(lm.group(3))].split("|")
            labels.discard("__name__")
        for n in names:
            out.append((n, labels))
    return out


def metric_names(expr):
    return {name for name, _ in selectors(expr) if name}


def rule_file_entries(path):
    """(kind, name, expr) for each rule: kind is record or alert.

    Understands what the rule file uses: `- record:`/`- alert:` items with an
    `expr:` that is a plain one-line scalar or a `|`/`>`-style block.
    """
    lines = open(path, encoding="utf-8").read().splitlines()
    entries = []
    current = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^(\s*)-\s*(record|alert):\s*(\S+)\s*$", line)
        if m:
            current = [m.group(2), m.group(3), None]
            entries.append(current)
            i += 1
            continue
        m = re.match(r"^(\s*)expr:\s*(.*)$", line)
        if m and current is not None:
            indent, value = len(m.group(1)), m.group(2).strip()
            if value and value[0] in "|>":
                block = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or
                                          len(lines[i]) - len(lines[i].lstrip()) > indent):
                    block.append(lines[i].strip())
                    i += 1
                current[2] = "\n".join(block)
                continue
            if value[:1] in "'\"":
                value = value[1:-1]
            current[2] = value
        i += 1
    return entries


def alert_fields(path):
    """{alert name: {field: value}} of the severity, summary, description and
    runbook_url lines of each alert in the rule file."""
    alerts = {}
    current = None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^\s*-\s*(record|alert):\s*(\S+)\s*$", line)
        if m:
            current = alerts.setdefault(m.group(2), {}) if m.group(1) == "alert" else None
            continue
        m = re.match(r"^\s+(severity|summary|description|runbook_url):\s*(.*?)\s*$", line)
        if m and current is not None:
            current[m.group(1)] = m.group(2).strip("'\"")
    return alerts


def github_anchor(heading):
    """The anchor GitHub gives a Markdown heading."""
    anchor = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return anchor.replace(" ", "-")


def check_runbook(rules_path, runbook_path, problems):
    anchors = set()
    for line in open(runbook_path, encoding="utf-8"):
        m = re.match(r"^#{1,6}\s+(.*)$", line)
        if m:
            anchors.add(github_anchor(m.group(1)))
    runbook_name = runbook_path.replace("\\", "/").rsplit("/", 1)[-1]
    alerts = alert_fields(rules_path)
    for name, fields in sorted(alerts.items()):
        for field in ("severity", "summary", "description", "runbook_url"):
            if not fields.get(field):
                problems.append(f"alert {name}: no {field}")
        url = fields.get("runbook_url", "")
        if not url:
            continue
        page, _, anchor = url.partition("#")
        if not page.endswith("/" + runbook_name) or anchor != github_anchor(name):
            problems.append(f"alert {name}: runbook_url {url} should be .../{runbook_name}#{github_anchor(name)}")
        elif anchor not in anchors:
            problems.append(f"alert {name}: {runbook_path} has no heading for #{anchor}")
    return len(alerts)


def parse_exposition(text):
    """{metric name: set of label names} from text exposition 0.0.4."""
    found = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"(" + IDENT + r")(\{(.*?)\})?\s", line)
        if not m:
            continue
        labels = set(re.findall(r"(" + IDENT + r')="', m.group(3) or ""))
        found.setdefault(m.group(1), set()).update(labels)
    return found


def walk_panels(panels):
    for panel in panels:
        yield panel
        yield from walk_panels(panel.get("panels", []))


def check_dashboard(dash, problems, queries=None):
    """Structure checks; returns [(where, expr)] of every PromQL expression.

    Appends (key, where, expr) of every variable and panel query to queries:
    key is "var/NAME" or "PANEL_ID/REFID".
    """
    exprs = []
    if queries is None:
        queries = []
    for key in ("title", "uid", "schemaVersion", "panels", "templating"):
        if key not in dash:
            problems.append(f"dashboard: missing top-level key {key!r}")
    if not isinstance(dash.get("schemaVersion"), int) or dash.get("schemaVersion", 0) < 36:
        problems.append("dashboard: schemaVersion must be an integer >= 36")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds_var = [v for v in variables.values() if v.get("type") == "datasource"]
    if not ds_var or ds_var[0].get("query") != "prometheus":
        problems.append("dashboard: needs a datasource variable with query 'prometheus'")
    ds_name = ds_var[0]["name"] if ds_var else "datasource"
    ds_refs = {"${%s}" % ds_name, "$%s" % ds_name}
    inputs = {i.get("name") for i in dash.get("__inputs", [])}
    ds_refs |= {"${%s}" % name for name in inputs}
    for name in ("vendor", "model", "target"):
        v = variables.get(name)
        if v is None or v.get("type") != "query":
            problems.append(f"dashboard: needs a query variable {name!r}")
            continue
        query = v.get("query")
        if isinstance(query, dict):
            query = query.get("query", "")
        if not re.match(r"^label_values\((.+),\s*" + name + r"\)$", query or ""):
            problems.append(f"variable {name}: query should be label_values(..., {name}), got {query!r}")
    for v in variables.values():
        if v.get("type") != "query":
            continue
        if (v.get("datasource") or {}).get("uid") not in ds_refs:
            problems.append(f"variable {v.get('name')}: datasource must be ${{{ds_name}}}")
        query = v.get("query")
        if isinstance(query, dict):
            query = query.get("query", "")
        for name in grafana_vars(query or ""):
            if name not in set(variables) | GRAFANA_BUILTINS:
                problems.append(f"variable {v.get('name')}: undefined variable ${name}")
        m = re.match(r"^label_values\((.+),\s*\w+\)$", query or "")
        if m:
            exprs.append((f"variable {v.get('name')}", m.group(1)))
            queries.append((f"var/{v.get('name')}", f"variable {v.get('name')}", m.group(1)))
        elif query:
            exprs.append((f"variable {v.get('name')}", query))

    defined_vars = set(variables) | GRAFANA_BUILTINS
    ids = set()
    for panel in walk_panels(dash.get("panels", [])):
        where = f"panel {panel.get('id')} {panel.get('title')!r}"
        pid = panel.get("id")
        if not isinstance(pid, int):
            problems.append(f"{where}: id must be an integer")
        elif pid in ids:
            problems.append(f"{where}: duplicate id")
        ids.add(pid)
        grid = panel.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in ("h", "w", "x", "y")):
            problems.append(f"{where}: gridPos needs integer h, w, x, y")
        elif grid["x"] + grid["w"] > 24:
            problems.append(f"{where}: gridPos wider than 24 columns")
        if not panel.get("type"):
            problems.append(f"{where}: no type")
        if panel.get("type") == "row":
            continue
        if (panel.get("datasource") or {}).get("uid") not in ds_refs:
            problems.append(f"{where}: datasource must be ${{{ds_name}}}")
        targets = panel.get("targets", [])
        if not targets:
            problems.append(f"{where}: no targets")
        ref_ids = set()
        for t in targets:
            if not t.get("expr"):
                problems.append(f"{where}: target {t.get('refId')} has no expr")
                continue
            if t.get("refId") in ref_ids or not t.get("refId"):
                problems.append(f"{where}: refId missing or repeated")
            ref_ids.add(t.get("refId"))
            if (t.get("datasource") or {}).get("uid", next(iter(ds_refs))) not in ds_refs:
                problems.append(f"{where}: target {t.get('refId')}: datasource must be ${{{ds_name}}}")
            for var in grafana_vars(t["expr"]) | grafana_vars(t.get("legendFormat", "")):
                if var not in defined_vars:
                    problems.append(f"{where}: undefined variable ${var}")
            exprs.append((where, t["expr"]))
            queries.append((f"{pid}/{t.get('refId')}", f"{where} {t.get('refId')}", t["expr"]))
    return exprs


# What Grafana puts in for its built-in variables; template variables are "All".
GRAFANA_VALUES = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h", "__range_s": "3600",
                  "__range_ms": "3600000", "__interval_ms": "15000"}


def as_promql(expr):
    """The query Grafana sends with every template variable at "All" (.*)."""
    def value(name):
        return GRAFANA_VALUES.get(name, ".*")
    expr = re.sub(r"\$\{(\w+)(?::\w+)?\}", lambda m: value(m.group(1)), expr)
    expr = re.sub(r"\[\[(\w+)\]\]", lambda m: value(m.group(1)), expr)
    return re.sub(r"\$(\w+)", lambda m: value(m.group(1)), expr)


def check_data(prometheus_url, queries, allow_empty, deadline_seconds, problems):
    """Polls every query on Prometheus until each returns at least one sample."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    pending = {key: (where, as_promql(expr)) for key, where, expr in queries}
    deadline = time.monotonic() + deadline_seconds
    errors = {}
    while True:
        for key, (where, promql) in list(pending.items()):
            url = prometheus_url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
            try:
                with opener.open(url, timeout=5) as reply:
                    body = json.load(reply)
            except urllib.error.HTTPError as e:
                errors[key] = f"HTTP {e.code}: {e.read().decode('utf-8', 'replace')[:300]}"
                continue
            except OSError as e:
                errors[key] = str(e)
                continue
            errors.pop(key, None)
            if body.get("data", {}).get("result"):
                del pending[key]
        if not pending or time.monotonic() > deadline:
            break
        # Only the allowed ones left: no need to wait for them.
        if all(key in allow_empty for key in pending) and not errors:
            break
        time.sleep(0.5)
    for key, (where, promql) in sorted(pending.items()):
        if key in errors:
            problems.append(f"{where} ({key}): query failed: {errors[key]}: {promql}")
        elif key in allow_empty:
            print(f"WARN: {where} ({key}) returns no data here (allowed): {promql}")
        else:
            problems.append(f"{where} ({key}) returns no data from {prometheus_url}: {promql}")
    unused = sorted(set(allow_empty) - {key for key, _, _ in queries})
    for key in unused:
        problems.append(f"--allow-empty {key}: no such panel query")
    return len(queries) - len(pending)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dashboard", required=True)
    parser.add_argument("--rules", required=True)
    parser.add_argument("--metrics-url")
    parser.add_argument("--metric-list")
    parser.add_argument("--deadline", type=float, default=30.0)
    parser.add_argument("--allow-missing", action="append", default=[], metavar="NAME",
                        help="a documented metric the exporter does not export yet: warn only")
    parser.add_argument("--prometheus-url",
                        help="a Prometheus scraping --metrics-url with --rules loaded: every panel "
                             "query and variable must return data from it")
    parser.add_argument("--allow-empty", action="append", default=[], metavar="PANEL/REFID",
                        help="a panel query (panel id/refId) that may return no data here: warn only")
    parser.add_argument("--runbook", help="docs/runbook.md: every alert's runbook_url must point at "
                                          "its section")
    args = parser.parse_args()

    problems = []
    try:
        with open(args.dashboard, encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        print(f"FAIL: {args.dashboard}: {e}")
        return 1
    queries = []
    exprs = check_dashboard(dash, problems, queries)

    rules = rule_file_entries(args.rules)
    alerts_checked = None
    if args.runbook:
        alerts_checked = check_runbook(args.rules, args.runbook, problems)
    recorded = {name for kind, name, _ in rules if kind == "record"}
    for kind, name, expr in rules:
        if not expr:
            problems.append(f"rule {name}: no expr found")
        else:
            exprs.append((f"{kind} {name}", expr))

    needed = {}
    for where, expr in exprs:
        for name, labels in selectors(expr):
            if name is None or name in recorded or name in SYNTHETIC:
                continue
            needed.setdefault(name, {}).setdefault(where, set()).update(labels)

    if args.metrics_url:
        # Loopback only: ignore any http_proxy in the environment.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + args.deadline
        while True:
            try:
                with opener.open(args.metrics_url, timeout=5) as reply:
                    scraped = parse_exposition(reply.read().decode("utf-8"))
            except OSError as e:
                print(f"FAIL: cannot scrape {args.metrics_url}: {e}")
                return 1
            missing = sorted(set(needed) - set(scraped) - set(args.allow_missing))
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        source = f"the scrape of {args.metrics_url}"
    elif args.metric_list:
        with open(args.metric_list, encoding="utf-8") as f:
            scraped = {line.strip(): None for line in f if line.strip()}
        source = args.metric_list
    else:
        print("FAIL: give --metrics-url or --metric-list")
        return 1

    for name, uses in sorted(needed.items()):
        if name not in scraped and name in args.allow_missing:
            print(f"WARN: metric {name} (used by {', '.join(sorted(uses))}) is not in {source} "
                  "(allowed: documented, not exported yet)")
            continue
        if name not in scraped:
            problems.append(f"metric {name} (used by {', '.join(sorted(uses))}) is not in {source}")
            continue
        if scraped[name] is None:
            continue
        for where, labels in sorted(uses.items()):
            for label in sorted(labels - scraped[name] - PROMETHEUS_LABELS):
                problems.append(f"{where}: {name} has no label {label!r} in {source}")

    with_data = None
    if args.prometheus_url and not problems:
        with_data = check_data(args.prometheus_url, queries, set(args.allow_empty), args.deadline,
                               problems)

    if problems:
        for p in problems:
            print("FAIL:", p)
        return 1
    print(f"OK: {len(exprs)} expressions, {len(needed)} exporter metrics, "
          f"{len(recorded)} recording rules checked against {source}")
    if alerts_checked is not None:
        print(f"OK: {alerts_checked} alerts have a severity, a summary, a description and a "
              f"runbook_url to their section of {args.runbook}")
    if with_data is not None:
        print(f"OK: {with_data} of {len(queries)} panel queries and variables return data from "
              f"{args.prometheus_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
