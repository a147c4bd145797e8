// mockbroker dashboard: the live journal, live regions, and the buttons and forms that
// call the admin JSON API. Everything shown comes from the broker as text (textContent)
// or from its own server-rendered, escaped HTML; nothing is built from strings here.
(function () {
  "use strict";

  // Absolute URLs on location.origin: in a page opened with user:password@ in its address,
  // relative URLs inherit those credentials, and fetch() refuses such URLs.
  const ORIGIN = window.location.origin;
  const ADMIN = ORIGIN + document.body.dataset.adminBase;
  const DASHBOARD = document.body.dataset.dashboardBase;
  const JOURNAL_ROWS = 100;
  const JOURNAL_WAIT_SECONDS = 15;
  const REFRESH_INTERVAL_MS = 1000;

  // --- the admin API --------------------------------------------------------------

  /** Call the admin API; resolves to {ok, status, data, message} and never throws. */
  async function admin(method, path, payload, signal) {
    const init = { method, signal, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    let response;
    try {
      response = await fetch(ADMIN + path, init);
    } catch (error) {
      return { ok: false, status: 0, data: null, message: "the broker did not answer (" + error.message + ")" };
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (error) {
      data = null;
    }
    if (response.ok) {
      return { ok: true, status: response.status, data, message: "" };
    }
    let message = response.status + " " + response.statusText;
    if (data && typeof data === "object" && (data.error || data.description)) {
      message = response.status + " " + [data.error, data.description].filter(Boolean).join(": ");
    }
    return { ok: false, status: response.status, data, message };
  }

  // --- notices --------------------------------------------------------------------

  const noticeTimers = new Map();

  function notify(name, kind, text) {
    const element = document.querySelector('[data-notice="' + name + '"]');
    if (!element) {
      return;
    }
    clearTimeout(noticeTimers.get(name));
    element.textContent = text;
    element.className = "notice notice-" + kind;
    element.hidden = false;
    if (kind === "ok") {
      noticeTimers.set(name, setTimeout(() => { element.hidden = true; }, 6000));
    }
  }

  // --- live regions: fetch this page again and swap the regions that changed -------

  const lastHtml = new WeakMap();
  let refreshing = null;
  let refreshAgain = false;
  let refreshTimer = null;
  let lastRefresh = 0;

  /** Bring the live regions up to date; at most once a second unless `now` (a click). */
  function refresh(now) {
    if (refreshing) {
      refreshAgain = true;
      return refreshing;
    }
    const wait = lastRefresh + REFRESH_INTERVAL_MS - Date.now();
    if (!now && wait > 0) {
      if (!refreshTimer) {
        refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, wait);
      }
      return Promise.resolve();
    }
    lastRefresh = Date.now();
    refreshing = (async () => {
      try {
        const response = await fetch(ORIGIN + location.pathname + location.search, { credentials: "same-origin", headers: { Accept: "text/html" } });
        if (!(response.headers.get("Content-Type") || "").startsWith("text/html")) {
          return;
        }
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        document.querySelectorAll("[data-live][id]").forEach((region) => {
          const replacement = fresh.getElementById(region.id);
          if (!replacement || lastHtml.get(region) === replacement.innerHTML) {
            return;
          }
          const open = new Set(Array.from(region.querySelectorAll("details[open][data-key]"), (d) => d.dataset.key));
          lastHtml.set(region, replacement.innerHTML);
          region.replaceChildren(...Array.from(replacement.childNodes, (node) => document.importNode(node, true)));
          region.querySelectorAll("details[data-key]").forEach((details) => {
            if (open.has(details.dataset.key)) {
              details.open = true;
            }
          });
        });
      } catch (error) {
        // The journal's status shows whether the broker answers; the next refresh retries.
      } finally {
        refreshing = null;
        if (refreshAgain) {
          refreshAgain = false;
          refresh();
        }
      }
    })();
    return refreshing;
  }

  // --- buttons ----------------------------------------------------------------------

  async function finishOperation(button) {
    const operation = button.dataset.operation;
    const state = button.dataset.finish;
    const row = button.closest("tr");
    row.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    const payload = { state };
    const input = document.querySelector("[data-finish-description]");
    if (input && input.value.trim()) {
      payload.description = input.value.trim();
    }
    const result = await admin("POST", "/operations/" + encodeURIComponent(operation), payload);
    if (result.ok) {
      notify("operations", "ok", "Operation " + operation + " finished: " + state + ".");
    } else {
      notify("operations", "error", "Could not finish operation " + operation + ": " + result.message);
      row.querySelectorAll("button").forEach((b) => { b.disabled = false; });
    }
    await refresh(true);
  }

  async function deleteFault(button) {
    const id = button.dataset.deleteFault;
    button.disabled = true;
    const result = await admin("DELETE", "/faults/" + encodeURIComponent(id));
    if (result.ok) {
      notify("faults", "ok", "Fault rule " + id + " removed.");
    } else {
      notify("faults", "error", "Could not remove fault rule " + id + ": " + result.message);
      button.disabled = false;
    }
    await refresh(true);
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) {
      return;
    }
    const finish = target.closest("button[data-finish]");
    if (finish) {
      finishOperation(finish);
      return;
    }
    const remove = target.closest("button[data-delete-fault]");
    if (remove) {
      deleteFault(remove);
    }
  });

  // --- the fault rule form ----------------------------------------------------------

  /** A number if the text is one, else the text itself (the API then names the problem). */
  function numberOrText(text) {
    const value = Number(text);
    return text !== "" && Number.isFinite(value) ? value : text;
  }

  function ruleFromFields(form) {
    const fields = new FormData(form);
    const text = (name) => String(fields.get(name) || "").trim();
    const rule = { match: {}, action: {} };
    for (const key of ["operation", "service", "plan", "instance_id", "binding_id"]) {
      if (text(key)) {
        rule.match[key] = text(key);
      }
    }
    if (text("trigger")) {
      rule.trigger = { [text("trigger")]: numberOrText(text("trigger_value")) };
    }
    for (const key of ["status", "delay_ms"]) {
      if (text(key)) {
        rule.action[key] = numberOrText(text(key));
      }
    }
    for (const key of ["error", "description", "body", "async_result", "phase"]) {
      if (text(key)) {
        rule.action[key] = text(key);
      }
    }
    for (const key of ["drop_connection", "hang"]) {
      if (fields.get(key)) {
        rule.action[key] = true;
      }
    }
    return rule;
  }

  async function addFault(form) {
    const written = form.elements.namedItem("rule_json").value.trim();
    let rule;
    if (written) {
      try {
        rule = JSON.parse(written);
      } catch (error) {
        notify("fault-form", "error", "The rule is not valid JSON: " + error.message);
        return;
      }
    } else {
      rule = ruleFromFields(form);
    }
    const submit = form.querySelector('button[type="submit"]');
    submit.disabled = true;
    const result = await admin("POST", "/faults", rule);
    submit.disabled = false;
    if (result.ok) {
      const id = result.data && result.data.id ? result.data.id : "";
      notify("fault-form", "ok", "Fault rule " + id + " added.");
      form.reset();
    } else {
      notify("fault-form", "error", "The rule was refused: " + result.message);
    }
    await refresh(true);
  }

  const faultForm = document.querySelector("form[data-fault-form]");
  if (faultForm) {
    faultForm.addEventListener("submit", (event) => {
      event.preventDefault();
      addFault(faultForm);
    });
  }

  // --- the live journal -------------------------------------------------------------

  function cell(row, text, className) {
    const td = document.createElement("td");
    if (className) {
      td.className = className;
    }
    if (text instanceof Node) {
      td.appendChild(text);
    } else {
      td.textContent = text === null || text === undefined ? "" : String(text);
    }
    row.appendChild(td);
    return td;
  }

  function badge(text, className) {
    const span = document.createElement("span");
    span.className = "badge " + className;
    span.textContent = text;
    return span;
  }

  function pathOf(entry) {
    const query = new URLSearchParams(entry.query || {}).toString();
    return entry.path + (query ? "?" + query : "");
  }

  function clock(time) {
    // "2024-05-01T12:00:03.123Z" -> "12:00:03.123"
    const match = /T(\d{2}:\d{2}:\d{2}(\.\d+)?)/.exec(time || "");
    return match ? match[1] : time || "";
  }

  function detailsRow(entry) {
    const row = document.createElement("tr");
    row.className = "entry-details";
    row.hidden = true;
    const td = document.createElement("td");
    td.colSpan = 8;
    const parts = [
      ["Request body", entry.body],
      ["Response (" + (entry.status === null ? "no answer" : entry.status) + ")", entry.response],
    ];
    if (entry.originating_identity) {
      parts.unshift(["Originating identity", entry.originating_identity]);
    }
    for (const [title, value] of parts) {
      const heading = document.createElement("h4");
      heading.textContent = title;
      const pre = document.createElement("pre");
      pre.textContent = value === null || value === undefined ? "(none)" : JSON.stringify(value, null, 2);
      td.append(heading, pre);
    }
    row.appendChild(td);
    return row;
  }

  function entryRow(entry, linkInstances) {
    const row = document.createElement("tr");
    row.className = "fresh";
    row.dataset.requestId = String(entry.id);
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.textContent = "\u25B8";
    toggle.setAttribute("aria-label", "show bodies");
    cell(row, toggle, "toggle");
    const time = cell(row, clock(entry.time));
    time.title = entry.time || "";
    cell(row, entry.method);
    if (entry.instance_id && linkInstances) {
      const link = document.createElement("a");
      link.href = DASHBOARD + "/instances/" + encodeURIComponent(entry.instance_id);
      link.textContent = pathOf(entry);
      link.title = "instance " + entry.instance_id;
      cell(row, link, "path");
    } else {
      cell(row, pathOf(entry), "path");
    }
    cell(row, entry.operation || "");
    const status = entry.status === null ? "dropped" : String(entry.status);
    cell(row, badge(status, entry.status === null ? "status-dropped" : "status-" + status[0] + "xx"));
    cell(row, entry.duration_ms === null || entry.duration_ms === undefined ? "" : Math.round(entry.duration_ms), "num");
    cell(row, entry.fault ? badge(String(entry.fault), "fault-badge") : "");
    const details = detailsRow(entry);
    toggle.addEventListener("click", () => {
      details.hidden = !details.hidden;
      toggle.textContent = details.hidden ? "\u25B8" : "\u25BE";
    });
    return [row, details];
  }

  function emptyRow(text) {
    const row = document.createElement("tr");
    row.className = "empty";
    const td = document.createElement("td");
    td.colSpan = 8;
    td.textContent = text;
    row.appendChild(td);
    return row;
  }

  function startJournal(table) {
    const body = table.tBodies[0];
    const status = document.querySelector("[data-journal-status]");
    const filterForm = document.querySelector("form[data-journal-filters]");
    const instanceId = table.dataset.instanceId;
    let last = null;
    let failures = 0;
    // Each change of the filters starts a new poll loop; older loops see a newer
    // generation and stop, and their long-poll is aborted.
    let generation = 0;
    let inFlight = null;
    let filterTimer = null;

    function setStatus(kind, text) {
      if (status) {
        status.className = "live-status " + kind;
        status.textContent = text;
      }
    }

    /** The journal query: the page's instance, the filters the user set. */
    function filters() {
      const params = new URLSearchParams();
      if (instanceId !== undefined) {
        params.set("instance_id", instanceId);
      }
      if (filterForm) {
        for (const [key, value] of new FormData(filterForm)) {
          const text = String(value).trim();
          if (text) {
            params.set(key, text);
          }
        }
      }
      return params;
    }

    function filtered() {
      return filterForm !== null && Array.from(new FormData(filterForm).values()).some((value) => String(value).trim());
    }

    function show(entries) {
      if (!entries.length) {
        return;
      }
      const empty = body.querySelector("tr.empty");
      if (empty) {
        empty.remove();
      }
      for (const entry of entries) {
        const [row, details] = entryRow(entry, instanceId === undefined);
        body.prepend(row, details);
      }
      while (body.rows.length > JOURNAL_ROWS * 2) {
        body.deleteRow(-1);
      }
    }

    async function poll(mine) {
      const params = filters();
      params.set("limit", String(JOURNAL_ROWS));
      if (last !== null) {
        params.set("since", String(last));
        params.set("wait", String(JOURNAL_WAIT_SECONDS));
      }
      inFlight = new AbortController();
      const result = await admin("GET", "/requests?" + params.toString(), undefined, inFlight.signal);
      if (mine !== generation) {
        return; // the filters changed meanwhile: a newer loop runs
      }
      if (!result.ok) {
        if (result.status === 400) {
          // The API names what is wrong with the filters; wait for them to change.
          setStatus("error", "filter refused: " + result.message);
          return;
        }
        failures += 1;
        setStatus("error", "not connected: " + result.message + " (retrying)");
        setTimeout(() => { if (mine === generation) { poll(mine); } }, Math.min(30000, 1000 * 2 ** failures));
        return;
      }
      failures = 0;
      setStatus("live", filtered() ? "live, filtered" : "live");
      const entries = (result.data && result.data.requests) || [];
      const initial = last === null;
      last = entries.reduce((max, entry) => Math.max(max, Number(entry.id)), last === null ? 0 : last);
      show(entries);
      // New requests usually changed something (or a wait ran out): bring the page up to date.
      if (!initial) {
        refresh();
      }
      // Requests to the admin API itself may be journaled too: never spin on them.
      setTimeout(() => { if (mine === generation) { poll(mine); } }, entries.length ? 300 : 0);
    }

    function restart() {
      generation += 1;
      if (inFlight) {
        inFlight.abort();
      }
      last = null;
      failures = 0;
      body.replaceChildren(emptyRow(filtered() ? "No request matches these filters yet." : "No requests yet."));
      setStatus("", "connecting\u2026");
      poll(generation);
    }

    if (filterForm) {
      filterForm.addEventListener("submit", (event) => {
        event.preventDefault();
        restart();
      });
      filterForm.addEventListener("change", restart);
      // Typing: once the user pauses.
      filterForm.addEventListener("input", (event) => {
        if (event.target instanceof HTMLInputElement) {
          clearTimeout(filterTimer);
          filterTimer = setTimeout(restart, 400);
        }
      });
    }
    poll(generation);
  }

  const journal = document.querySelector("table[data-journal]");
  if (journal) {
    startJournal(journal);
  }
})();
