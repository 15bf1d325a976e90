// The dashboard (contract section 8): one ES module over the API's own
// endpoints. J's daily report is read first (without its children: the
// quickest answer, drawn at once); every other view (children, 零报告, curve,
// text, downloads) is read as of its as_of, so all views show the same moment. State lives in the URL hash (#j=CODE&d=DATE&c=HH:00), the
// token in sessionStorage.

const ZONE = document.body.dataset.timezone || "Asia/Shanghai";
const TOKEN_KEY = "ribao.token";
const PAGE_SIZE = 20;
const CURVE_DATES = 30;
const params = new URLSearchParams(location.search);
const REFRESH_S = Math.max(1, Number(params.get("refresh")) || 10);

const numbers = new Intl.NumberFormat("zh-CN");
const percent = new Intl.NumberFormat("zh-CN", { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
const $ = (sel) => document.querySelector(sel);

const LEVEL_DIGITS = { country: 0, province: 2, city: 4, county: 6, town: 9, village: 12 };
const LEVEL_NAMES = { country: "全国", province: "省", city: "市", county: "县", town: "乡镇", village: "村" };
const STATUS_NAMES = { reported: "已报告", zero_reported: "零报告", late: "迟报", missing: "漏报" };
const PARAMETER_NAMES = {
  jurisdiction: "辖区代码", date: "日期", cutoff: "截止时间", as_of: "数据时点", from: "起始日期",
  to: "结束日期", format: "格式", limit: "每页条数", offset: "页码", q: "查找内容",
};

// -- the figures of section 4, labelled -----------------------------------------------------------------

const CATEGORIES = { returnee: "返乡人员", overseas: "境外来（返）人员", close_contact: "密切接触者", fever_clinic: "发热门诊", other: "其他" };
const MODES = { home: "居家", centralized: "集中", medical: "医学观察", total: "合计" };
const VENUE_TYPES = {
  market: "农贸市场", live_poultry: "活禽市场", restaurant: "餐饮", entertainment: "娱乐场所",
  religious: "宗教场所", school: "学校", scenic: "景区", internet_cafe: "网吧", other: "其他",
};

const HEADLINE = [
  ["screened.new", "当日新增排查"], ["screened.cumulative", "累计排查"], ["symptomatic.new", "新增有症状"],
  ["isolation.current.total", "现有隔离"], ["cases.suspected.current", "现有疑似"],
  ["cases.confirmed.new", "新增确诊"], ["cases.confirmed.cumulative", "累计确诊"], ["venues.closed.current", "关停场所"],
];

/** Section 4 as tables: [title, column headings, rows of [label, ...dotted names]]; a row
 * with fewer names than columns spans the rest. */
function figureGroups(figures) {
  const pair = (label, path) => [label, `${path}.new`, `${path}.cumulative`];
  return [
    ["排查登记", ["当日新增", "累计"], [
      pair("合计", "screened"),
      ...Object.entries(CATEGORIES).map(([c, name]) => pair(name, `screened.by_category.${c}`)),
      ...Object.keys(figures.screened.by_origin || {}).map((a) => pair(`来自${areaName(a)}`, `screened.by_origin.${a}`)),
    ]],
    ["隔离医学观察", ["当日新增", "现有"], [
      ...Object.entries(MODES).map(([m, name]) => [name, `isolation.started.${m}`, `isolation.current.${m}`]),
      ["当日解除隔离", "isolation.ended.total"],
      ["超期未解除", "isolation.overdue"],
    ]],
    ["病例", ["当日新增", "累计"], [
      pair("确诊", "cases.confirmed"), pair("治愈", "cases.recovered"), pair("死亡", "cases.deceased"),
      ["现有疑似", "cases.suspected.current"],
      ["当日排除", "cases.excluded.new"],
      ["随访发现症状（当日）", "symptomatic.new"],
    ]],
    ["场所", ["数量"], [
      ["当日新增关停", "venues.closed.new"], ["当日恢复营业", "venues.reopened.new"], ["关停中", "venues.closed.current"],
      ...Object.entries(VENUE_TYPES).map(([t, name]) => [`关停中：${name}`, `venues.closed_by_type.${t}`]),
    ]],
    ["卡口（当日）", ["数量"], [
      ["检查人数", "checkpoints.people_checked"], ["检查车辆", "checkpoints.vehicles_checked"],
      ["发现发热", "checkpoints.fevers_found"], ["劝返", "checkpoints.turned_back"],
    ]],
  ];
}

const CHILD_COLUMNS = [
  ["jurisdiction.name", "名称"], ["jurisdiction.code", "代码"],
  ["figures.screened.new", "新增排查"], ["figures.screened.cumulative", "累计排查"],
  ["figures.symptomatic.new", "新增有症状"], ["figures.isolation.started.total", "新增隔离"],
  ["figures.isolation.current.total", "现有隔离"], ["figures.isolation.overdue", "超期隔离"],
  ["figures.cases.suspected.current", "现有疑似"], ["figures.cases.confirmed.new", "新增确诊"],
  ["figures.cases.confirmed.cumulative", "累计确诊"], ["figures.venues.closed.current", "关停场所"],
  ["figures.checkpoints.people_checked", "卡口检查人数"], ["reporting.status", "报告状态"],
];

const CURVE_FIGURES = [
  ["screened.new", "新增排查"], ["cases.confirmed.new", "新增确诊"],
  ["isolation.current.total", "现有隔离"], ["symptomatic.new", "新增有症状"],
];

// -- state ------------------------------------------------------------------------------------------------

const state = {
  code: "000000000000", date: "", cutoff: "24:00", zeroOffset: 0,
  sort: { key: "jurisdiction.code", dir: 1 }, daily: null, children: null, asOf: null,
  generation: 0, timer: null, names: new Map(), loaded: 0,
};

const get = (obj, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
const fmt = (n) => (typeof n === "number" ? numbers.format(n) : n ?? "–");

function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
}

function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function showTime(iso) {
  if (!iso) return "–";
  const parts = new Intl.DateTimeFormat("zh-CN", {
    timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date(iso));
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

function pad12(code) {
  return (code + "000000000000").slice(0, 12);
}

function areaName(area) {
  return state.names.get(pad12(area)) || area;
}

function el(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  node.append(...kids);
  return node;
}

// -- the API ----------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code || "";
    this.details = body?.error?.details || [];
    this.retryAfter = retryAfter;
  }
}

async function api(path, query = {}, as = "json") {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  const token = sessionStorage.getItem(TOKEN_KEY) || "";
  let res;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, cache: "no-store" });
  } catch {
    throw new ApiError(0, null);
  }
  if (!res.ok) {
    let body = null;
    try { body = await res.json(); } catch { /* not JSON: a proxy's page */ }
    throw new ApiError(res.status, body, res.headers.get("retry-after"));
  }
  if (as === "text") return res.text();
  if (as === "blob") return res.blob();
  return res.json();
}

/** The error as a sentence for HQ staff. */
function sentence(err) {
  if (!(err instanceof ApiError)) return `页面出错：${err.message}`;
  switch (err.status) {
    case 0: return "无法连接服务器，请检查网络后重试。";
    case 401: return "访问令牌无效或已过期，请重新输入令牌（可向管理员申请新的令牌）。";
    case 403: return "当前令牌无权查看该辖区的数据，请选择令牌授权范围内的辖区。";
    case 404: {
      if (err.code === "unknown_jurisdiction") {
        const code = err.details[0]?.code || state.code;
        return `没有代码为 ${code} 的辖区，请检查代码后重新输入。`;
      }
      return "所请求的内容不存在（服务器可能尚未提供该功能）。";
    }
    case 429: return `请求过于频繁，请 ${err.retryAfter || "几"} 秒后再试。`;
    case 503: return "数据存储暂时不可用，请稍后再试；页面会自动重试。";
    case 400: {
      const name = err.details[0]?.parameter;
      return `参数“${PARAMETER_NAMES[name] || name || "请求"}”有误，请检查后重试。`;
    }
    default: return `服务器出错（${err.status}），请稍后再试。`;
  }
}

const errors = new Set();

function showErrors() {
  const box = $("#error");
  box.replaceChildren(...[...errors].map((s) => el("p", { text: s })));
  box.hidden = errors.size === 0;
}

function fail(err) {
  errors.add(sentence(err));
  showErrors();
  if (err instanceof ApiError && err.status === 401) showLogin();
}

// -- log in -----------------------------------------------------------------------------------------------

function showLogin() {
  clearTimeout(state.timer);
  sessionStorage.removeItem(TOKEN_KEY);
  $("#login").hidden = false;
  $("#main").hidden = true;
  $("#logout").hidden = true;
  $("#live").hidden = true;
  $("#token").focus();
}

$("#login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
  $("#token").value = "";
  errors.clear();
  showErrors();
  start();
});

$("#logout").addEventListener("click", () => { errors.clear(); showErrors(); showLogin(); });

function start() {
  $("#login").hidden = true;
  $("#main").hidden = false;
  $("#logout").hidden = false;
  readHash();
  load(true);
}

// -- navigation: the URL hash -----------------------------------------------------------------------------

function readHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  state.code = h.get("j") || "00";
  state.date = h.get("d") || today();
  state.cutoff = h.get("c") || "24:00";
  $("#date").value = state.date;
  $("#cutoff").value = state.cutoff;
}

function link(code, date = state.date, cutoff = state.cutoff) {
  const h = new URLSearchParams({ j: code, d: date, c: cutoff });
  return `#${h}`;
}

function go(code, date = state.date, cutoff = state.cutoff) {
  location.hash = link(code, date, cutoff);
}

window.addEventListener("hashchange", () => {
  if (!sessionStorage.getItem(TOKEN_KEY)) return;
  const before = state.code;
  readHash();
  if (state.code !== before) state.zeroOffset = 0;
  load(true);
});

for (let h = 0; h <= 24; h++) {
  const v = `${String(h).padStart(2, "0")}:00`;
  $("#cutoff").append(el("option", { value: v, text: h === 24 ? "24时（全天）" : `${h}时` }));
}
$("#date").max = today();
$("#date").addEventListener("change", () => { state.zeroOffset = 0; go(state.code, $("#date").value || today()); });
$("#cutoff").addEventListener("change", () => { state.zeroOffset = 0; go(state.code, state.date, $("#cutoff").value); });

// -- loading ----------------------------------------------------------------------------------------------

const live = () => state.date === today();

/** Loads every view; `fresh` when the jurisdiction, date or cutoff changed (not a live refresh). */
async function load(fresh) {
  clearTimeout(state.timer);
  const gen = ++state.generation;
  const base = { jurisdiction: state.code, date: state.date, cutoff: state.cutoff };
  document.body.dataset.loading = "1";
  if (fresh) { state.children = null; clearViews(); renderChildren(); }
  let daily;
  try {
    daily = await api("/v1/reports/daily", base);
  } catch (err) {
    if (gen !== state.generation) return;
    fail(err);
    scheduleRefresh(gen, err);
    delete document.body.dataset.loading;
    return;
  }
  if (gen !== state.generation) return;
  errors.clear();
  const asOf = daily.as_of;
  state.daily = daily;
  state.asOf = asOf;
  renderDaily(daily);
  performance.mark("ribao:figures");
  const pinned = { ...base, as_of: asOf };
  const views = [
    api("/v1/reports/daily", { ...pinned, children: "true" }).then((c) => gen === state.generation && renderChildren(c)),
    api("/v1/reports/zero", { ...pinned, limit: PAGE_SIZE, offset: state.zeroOffset }).then((z) => gen === state.generation && renderZero(z)),
    loadCurve(pinned, gen),
    api("/v1/reports/daily", { ...pinned, format: "text" }, "text").then((t) => gen === state.generation && renderText(t, asOf)),
    crumbs(daily.jurisdiction),
  ];
  const results = await Promise.allSettled(views);
  if (gen !== state.generation) return;
  for (const r of results) if (r.status === "rejected") errors.add(sentence(r.reason));
  showErrors();
  if (results.some((r) => r.status === "rejected" && r.reason?.status === 401)) { showLogin(); return; }
  state.loaded += 1;
  document.body.dataset.loaded = String(state.loaded);
  delete document.body.dataset.loading;
  scheduleRefresh(gen, null);
}

function scheduleRefresh(gen, err) {
  const retry = err instanceof ApiError && (err.status === 503 || err.status === 0);
  const badge = $("#live");
  badge.hidden = !live();
  badge.textContent = `实时 · 每${REFRESH_S}秒刷新`;
  if ((live() || retry) && !(err instanceof ApiError && err.status === 401)) {
    state.timer = setTimeout(() => gen === state.generation && load(false), REFRESH_S * 1000);
  }
}

function clearViews() {
  for (const p of document.querySelectorAll(".asof")) p.textContent = "";
  $("#text-report").textContent = "";
}

function showAsOf(view, asOf) {
  const p = document.querySelector(`.asof[data-view="${view}"]`);
  p.textContent = `数据时点：${showTime(asOf)}${live() ? "（当日实时）" : ""}`;
  p.dataset.asOf = asOf;
}

// -- 日报告 --------------------------------------------------------------------------------------------------

function renderDaily(d) {
  const j = d.jurisdiction;
  state.names.set(j.code, j.name);
  document.title = `${j.name} · 疫情防控日报告`;
  $("#j-name").textContent = `${j.name}（${d.date}，截至${d.cutoff === "24:00" ? "24时" : d.cutoff.slice(0, 2) + "时"}）`;
  $("#figures").dataset.code = j.code;
  showAsOf("daily", d.as_of);
  const r = d.reporting;
  $("#reporting").textContent = `本级报告状态：${STATUS_NAMES[r.status] || r.status}` +
    (r.submitted_at ? `，提交于 ${showTime(r.submitted_at)}` : "") + `；截止 ${showTime(r.deadline)}` +
    (r.zero_report_contradicted ? "；有零报告与实际事件矛盾" : "");
  $("#headline").replaceChildren(...HEADLINE.map(([path, label]) =>
    el("div", { class: "stat" }, el("span", { class: "label", text: label }),
      el("strong", { "data-figure": path, text: fmt(get(d.figures, path)) }))));
  $("#figure-groups").replaceChildren(...figureGroups(d.figures).map(([title, columns, rows]) =>
    el("table", { class: "group" }, el("caption", { text: title }),
      el("thead", {}, el("tr", {}, el("td"), ...columns.map((c) => el("th", { scope: "col", text: c })))),
      el("tbody", {}, ...rows.map(([label, ...paths]) =>
        el("tr", {}, el("th", { scope: "row", text: label }), ...paths.map((path, i) => {
          const span = i === paths.length - 1 ? columns.length - i : 1;
          return el("td", { "data-figure": path, colspan: String(span), text: fmt(get(d.figures, path)) });
        })))))));
}

/** The children table of a daily answer with `children=true` (none: redraw, e.g. sorted). */
function renderChildren(answer) {
  if (answer) {
    state.children = answer.children;
    for (const c of answer.children) state.names.set(c.jurisdiction.code, c.jurisdiction.name);
    showAsOf("children", answer.as_of);
  }
  const rows = [...(state.children || [])];
  const { key, dir } = state.sort;
  rows.sort((a, b) => {
    const x = get(a, key), y = get(b, key);
    const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "zh-CN");
    return c * dir || a.jurisdiction.code.localeCompare(b.jurisdiction.code);
  });
  const table = $("#children-table");
  table.tHead.replaceChildren(el("tr", {}, ...CHILD_COLUMNS.map(([path, label]) => {
    const th = el("th", { scope: "col", "data-key": path, tabindex: "0",
      "aria-sort": path === key ? (dir > 0 ? "ascending" : "descending") : "none" });
    th.append(label, el("span", { class: "arrow", text: path === key ? (dir > 0 ? " ▲" : " ▼") : "" }));
    return th;
  })));
  table.tBodies[0].replaceChildren(...rows.map((row) => el("tr", { "data-code": row.jurisdiction.code },
    ...CHILD_COLUMNS.map(([path]) => {
      const v = get(row, path);
      if (path === "jurisdiction.name") return el("td", {}, el("a", { href: link(row.jurisdiction.code), text: v }));
      if (path === "reporting.status") return el("td", { "data-figure": path, class: `status ${v}`, text: STATUS_NAMES[v] || v });
      if (!path.startsWith("figures.")) return el("td", { text: v });
      return el("td", { "data-figure": path.slice("figures.".length), class: "num", text: fmt(v) });
    }))));
  const empty = state.children === null ? "加载中……" : "没有下级辖区。";
  if (!rows.length) table.tBodies[0].append(el("tr", {}, el("td", { colspan: String(CHILD_COLUMNS.length), class: "hint", text: empty })));
}

function sortBy(th) {
  const key = th.dataset.key;
  state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : (key.startsWith("figures.") ? -1 : 1) };
  renderChildren();
}
$("#children-table").addEventListener("click", (ev) => { const th = ev.target.closest("th[data-key]"); if (th) sortBy(th); });
$("#children-table").addEventListener("keydown", (ev) => {
  const th = ev.target.closest("th[data-key]");
  if (th && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); sortBy(th); }
});

async function crumbs(j) {
  const digits = LEVEL_DIGITS[j.level] ?? 12;
  const codes = [0, 2, 4, 6, 9].filter((n) => n < digits).map((n) => pad12(j.code.slice(0, n)));
  // the focus areas of screened.by_origin are named too (42 -> 湖北省)
  const areas = Object.keys(state.daily?.figures.screened.by_origin || {}).map(pad12);
  const unnamed = [...codes, ...areas].filter((c) => !state.names.has(c));
  await Promise.all(unnamed.map(async (c) => {
    const info = await api(`/v1/jurisdictions/${c}`);
    state.names.set(info.code, info.name);
  }));
  if (areas.some((c) => unnamed.includes(c))) renderDaily(state.daily);
  const nav = $("#crumbs");
  nav.replaceChildren(...codes.flatMap((c) => [el("a", { href: link(c), text: state.names.get(c) || c }), " › "]),
    el("span", { class: "here", text: `${j.name}（${LEVEL_NAMES[j.level] || j.level}）` }));
}

// -- 零报告 --------------------------------------------------------------------------------------------------

function renderZero(z) {
  showAsOf("zero", z.as_of);
  const c = z.counts;
  const stats = [
    ["expected", "应报单位", z.expected], ["counts.reported", "已报告", c.reported],
    ["counts.zero_reported", "零报告", c.zero_reported], ["counts.late", "迟报", c.late],
    ["counts.missing", "漏报", c.missing], ["completeness", "完整率", percent.format(z.completeness)],
    ["timeliness", "及时率", percent.format(z.timeliness)],
    ["zero_report_contradicted", "零报告被推翻", z.zero_report_contradicted],
  ];
  $("#zero-counts").replaceChildren(...stats.map(([key, label, v]) =>
    el("div", { class: "stat" }, el("span", { class: "label", text: label }), el("strong", { "data-zero": key, text: fmt(v) }))));
  $("#zero-units").tBodies[0].replaceChildren(...z.units.map((u) => el("tr", { "data-code": u.code },
    el("td", { text: u.code }), el("td", { text: u.name }),
    el("td", { class: `status ${u.status}`, text: STATUS_NAMES[u.status] || u.status }),
    el("td", { text: u.submitted_at ? showTime(u.submitted_at) : "–" }))));
  if (!z.units.length) $("#zero-units").tBodies[0].append(el("tr", {}, el("td", { colspan: "4", class: "hint", text: "没有漏报或迟报的单位。" })));
  const pages = Math.max(1, Math.ceil(z.total / PAGE_SIZE));
  const page = Math.floor(z.offset / PAGE_SIZE) + 1;
  $("#zero-page").textContent = `第 ${page} / ${pages} 页（共 ${fmt(z.total)} 个单位，${LEVEL_NAMES[z.unit_level] || z.unit_level}级）`;
  $("#zero-prev").disabled = page <= 1;
  $("#zero-next").disabled = page >= pages;
}

async function zeroPage(delta) {
  state.zeroOffset = Math.max(0, state.zeroOffset + delta * PAGE_SIZE);
  const gen = state.generation;
  try {
    const z = await api("/v1/reports/zero", {
      jurisdiction: state.code, date: state.date, cutoff: state.cutoff, as_of: state.asOf,
      limit: PAGE_SIZE, offset: state.zeroOffset,
    });
    if (gen === state.generation) renderZero(z);
  } catch (err) { fail(err); }
}
$("#zero-prev").addEventListener("click", () => zeroPage(-1));
$("#zero-next").addEventListener("click", () => zeroPage(1));

// -- the curve: one series request --------------------------------------------------------------------------

let charts = null;

/** ECharts, loaded after the figures are drawn (it is the page's largest file). */
function echarts() {
  charts ??= new Promise((resolve, reject) => {
    const s = el("script", { src: "/ui/vendor/echarts/echarts.common.min.js" });
    s.onload = () => resolve(window.echarts);
    s.onerror = () => reject(new Error("图表组件加载失败"));
    document.head.append(s);
  });
  return charts;
}

async function loadCurve(pinned, gen) {
  // 6 dates before the 30 shown, for the 7-date mean of isolation.current.total (not a .new figure)
  const from = addDays(state.date, -(CURVE_DATES - 1) - 6);
  const [series, lib] = await Promise.all([
    api("/v1/reports/series", {
      jurisdiction: pinned.jurisdiction, from, to: state.date, cutoff: pinned.cutoff, as_of: pinned.as_of,
      figures: CURVE_FIGURES.map(([f]) => f).join(","),
    }),
    echarts(),
  ]);
  if (gen !== state.generation) return;
  renderCurve(series, lib);
}

function renderCurve(series, lib) {
  showAsOf("series", series.as_of);
  const all = series.dates;
  const shown = all.slice(-CURVE_DATES);
  const offset = all.length - shown.length;
  const lines = [];
  for (const [path, label] of CURVE_FIGURES) {
    const values = all.map((d) => get(d.figures, path));
    const mean = path.endsWith(".new")
      ? all.map((d) => get(d.figures, `${path}_rolling7`) / 7)
      : values.map((_, i) => (i < 6 ? null : values.slice(i - 6, i + 1).reduce((a, b) => a + b, 0) / 7));
    lines.push({ name: label, type: "line", data: values.slice(offset), symbolSize: 5 });
    lines.push({
      name: `${label}（7日均值）`, type: "line", data: mean.slice(offset).map((v) => (v == null ? null : Math.round(v * 10) / 10)),
      symbol: "none", lineStyle: { type: "dashed", width: 1.5 },
    });
  }
  const node = $("#chart");
  const chart = lib.getInstanceByDom(node) || lib.init(node, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    color: ["#2f6fb0", "#2f6fb0", "#c23531", "#c23531", "#d48a1a", "#d48a1a", "#3b8f5a", "#3b8f5a"],
    tooltip: { trigger: "axis", valueFormatter: (v) => (v == null ? "–" : numbers.format(v)) },
    legend: { type: "scroll", top: 0 },
    grid: { left: 48, right: 16, top: 56, bottom: 32 },
    xAxis: { type: "category", data: shown.map((d) => d.date.slice(5)) },
    yAxis: { type: "value", minInterval: 1, axisLabel: { formatter: (v) => numbers.format(v) } },
    series: lines,
  }, true);
  node.dataset.dates = shown.map((d) => d.date).join(",");
  performance.mark("ribao:curve");
}

window.addEventListener("resize", () => { if (window.echarts) window.echarts.getInstanceByDom($("#chart"))?.resize(); });

// -- the text report ----------------------------------------------------------------------------------------

function renderText(text, asOf) {
  $("#text-report").textContent = text;
  showAsOf("text", asOf);
}

$("#copy").addEventListener("click", async () => {
  const text = $("#text-report").textContent;
  const status = $("#copy-status");
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = "已复制到剪贴板。";
  } catch {
    const area = el("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    status.textContent = ok ? "已复制到剪贴板。" : "复制失败，请手动选择文字复制。";
  }
});

// -- downloads: what is shown, as of its as_of ---------------------------------------------------------

document.addEventListener("click", async (ev) => {
  const button = ev.target.closest("button[data-download]");
  if (!button) return;
  const report = button.dataset.download;
  const format = button.dataset.format;
  const query = { jurisdiction: state.code, date: state.date, cutoff: state.cutoff, as_of: state.asOf, format };
  // the daily report with its children table; the 零报告 with every listed unit (all pages)
  if (report === "daily") query.children = "true";
  else query.limit = 10000;
  button.disabled = true;
  try {
    const blob = await api(`/v1/reports/${report}`, query, "blob");
    const name = `${report === "daily" ? "日报告" : "零报告"}_${state.names.get(state.code) || state.code}_${state.date}.${format}`;
    const a = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (err) {
    fail(err);
  } finally {
    button.disabled = false;
  }
});

// -- search: by name or code --------------------------------------------------------------------------------

let searchTimer = null;

function ancestry(item) {
  return item.ancestors.map((a) => a.name).join(" › ");
}

async function search(q) {
  const list = $("#search-results");
  if (!q) { list.hidden = true; return; }
  try {
    const ans = await api("/v1/jurisdictions", { q });
    if ($("#search").value.trim() !== q) return;
    const items = ans.results;
    list.replaceChildren(...items.map((it) => {
      state.names.set(it.code, it.name);
      return el("li", {}, el("a", { href: link(it.code), "data-code": it.code },
        el("strong", { text: it.name }), el("span", { class: "hint", text: ` ${ancestry(it)} ${it.code}` })));
    }));
    if (!items.length) list.append(el("li", { class: "hint", text: `没有找到与“${q}”匹配的辖区。` }));
    if (ans.more) list.append(el("li", { class: "hint", text: "还有更多结果，请输入更完整的名称或代码。" }));
    list.hidden = false;
  } catch (err) {
    fail(err);
  }
}

$("#search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => search($("#search").value.trim()), 250);
});
$("#search").addEventListener("keydown", (ev) => {
  if (ev.key !== "Enter") return;
  const q = $("#search").value.trim();
  if (/^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$/.test(q)) {
    ev.preventDefault();
    $("#search-results").hidden = true;
    go(pad12(q));
  } else {
    const first = $("#search-results a");
    if (first) { ev.preventDefault(); first.click(); }
  }
});
$("#search-results").addEventListener("click", (ev) => {
  if (ev.target.closest("a")) { $("#search-results").hidden = true; $("#search").value = ""; }
});

// -- start ---------------------------------------------------------------------------------------------------

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && live() && sessionStorage.getItem(TOKEN_KEY)) load(false);
});

// on a phone the full list of figures starts folded (the headline figures stay)
if (window.matchMedia("(max-width: 600px)").matches) $("#all-figures").open = false;

if (sessionStorage.getItem(TOKEN_KEY)) start();
else showLogin();
