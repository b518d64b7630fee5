/* kocbot mini app: plain JavaScript, no build step. Every view is drawn from the data API
   (/app/api/...), which checks the Telegram initData sent with each call. Text goes into the
   page with textContent only, never as HTML. */
(function () {
  "use strict";
  const body = document.body;
  const BASE = body.dataset.base || "/app";
  const CURRENCY = body.dataset.currency || "CNY";
  const SYMBOLS = { CNY: "¥", JPY: "¥", USD: "$", EUR: "€", GBP: "£", HKD: "HK$", TWD: "NT$", SGD: "S$" };

  const TEXT = {
    en: {
      deals: "Deals", earnings: "Earnings", groups: "Groups", admin: "Admin",
      title_deals: "Deal center", search: "Search deals", all: "All", min: "min", max: "max",
      off: "off", any_discount: "Any discount", more: "Load more", none: "No deals match.",
      buy: "Buy", share: "Share", stock: "Stock", unlimited: "plenty", ends: "Ends", merchant: "Shop",
      no_end: "no end date", gone: "This deal is no longer available.", sold: "sold out",
      shared: "Shared! Your friends' purchases count for you.", share_needs_tg: "Open the app in Telegram to share.",
      link_ready: "Opening the shop…", total: "Total earned", d7: "7 days", d30: "30 days",
      clicks: "Clicks", orders: "Orders", pending: "Pending", confirmed: "Confirmed", payable: "Payable",
      paid: "Paid", reversed: "Reversed", chart: "Commission, last 30 days", per_group: "By group",
      team: "Team and tier", tier: "Tier", invitees: "Invitees", active: "active", team_earned: "Team earned",
      next_tier: "Next: {tier} — {missing} more needed", top_tier: "Top tier reached",
      payouts: "Payouts", no_payouts: "No payouts yet.", no_groups: "Add the bot to a group you run to see it here.",
      times: "Posting times (HH:MM, space between)", timezone: "Time zone", categories: "Categories (empty = all)",
      paused: "Paused", topic: "Forum topic to post in", main_chat: "Main chat",
      save: "Save", saved: "Saved. Next post: {next}", never: "never", last_post: "Last post",
      promoter: "promoter", mentor: "mentor", partner: "partner", stats: "Platform", window: "Window",
      balances: "Balances owed", payout: "Record a payout", user_id: "User id or @username", amount: "Amount",
      pay: "Pay out", paid_ok: "Paid {amount} to {user}.", gmv: "GMV", posts: "Posts", taps: "Taps",
      promoters: "Promoters", bot_hits: "Bot hits", stars: "Stars on paid broadcast", commission: "Commission", nobody: "Nobody is owed money.",
      open_in_tg: "Open this page from the bot in Telegram to sign in.", error: "Something went wrong",
      platform: "platform",
    },
    zh_CN: {
      deals: "好物", earnings: "收益", groups: "群管理", admin: "管理",
      title_deals: "好物中心", search: "搜索商品", all: "全部", min: "最低", max: "最高",
      off: "折扣", any_discount: "不限折扣", more: "加载更多", none: "没有符合条件的商品。",
      buy: "购买", share: "分享", stock: "库存", unlimited: "充足", ends: "截止", merchant: "店铺",
      no_end: "长期有效", gone: "该商品已下架。", sold: "已售罄",
      shared: "已分享！好友购买会记在你名下。", share_needs_tg: "请在 Telegram 中打开以分享。",
      link_ready: "正在打开店铺…", total: "累计收益", d7: "近7天", d30: "近30天",
      clicks: "点击", orders: "订单", pending: "待确认", confirmed: "已确认", payable: "可提现",
      paid: "已提现", reversed: "已冲回", chart: "近30天佣金", per_group: "按群",
      team: "团队与等级", tier: "等级", invitees: "邀请", active: "活跃", team_earned: "团队收益",
      next_tier: "下一级：{tier}，还差 {missing} 人", top_tier: "已是最高等级",
      payouts: "提现记录", no_payouts: "暂无提现。", no_groups: "把机器人加入你管理的群后，这里会显示。",
      times: "推送时间（HH:MM，空格分隔）", timezone: "时区", categories: "分类（留空 = 全部）",
      paused: "暂停推送", topic: "推送到的论坛话题", main_chat: "主聊天",
      save: "保存", saved: "已保存。下次推送：{next}", never: "从未", last_post: "上次推送",
      promoter: "推广员", mentor: "导师", partner: "合伙人", stats: "平台数据", window: "时间范围",
      balances: "待付余额", payout: "记录提现", user_id: "用户 ID 或 @用户名", amount: "金额",
      pay: "提现", paid_ok: "已向 {user} 支付 {amount}。", gmv: "成交额", posts: "推送", taps: "点按",
      promoters: "推广员", bot_hits: "机器访问", stars: "付费群发花费（Stars）", commission: "佣金", nobody: "暂无待付余额。",
      open_in_tg: "请从 Telegram 机器人中打开本页以登录。", error: "出错了",
      platform: "平台",
    },
  };

  // -- Telegram ------------------------------------------------------------------------
  const tg = () => (window.Telegram && window.Telegram.WebApp) || null;
  function launchParam(name) {
    const hash = new URLSearchParams(location.hash.slice(1));
    return hash.get(name) || new URLSearchParams(location.search).get(name) || "";
  }
  // Telegram's script parses the launch data from the URL; without it we read it ourselves.
  const initData = () => (tg() && tg().initData) || launchParam("tgWebAppData");
  function userLang() {
    const unsafe = tg() && tg().initDataUnsafe;
    let code = unsafe && unsafe.user && unsafe.user.language_code;
    if (!code) {
      try { code = JSON.parse(new URLSearchParams(initData()).get("user") || "{}").language_code; } catch (e) { code = ""; }
    }
    if (code) return code.toLowerCase().startsWith("zh") ? "zh_CN" : "en";
    return body.dataset.lang === "zh_CN" ? "zh_CN" : "en";
  }
  let LANG = userLang();
  const t = (key, values) => {
    let s = (TEXT[LANG] && TEXT[LANG][key]) || TEXT.en[key] || key;
    for (const [k, v] of Object.entries(values || {})) s = s.replace("{" + k + "}", v);
    return s;
  };

  const THEME_VARS = {
    bg_color: "--tg-bg", text_color: "--tg-text", hint_color: "--tg-hint", link_color: "--tg-link",
    button_color: "--tg-button", button_text_color: "--tg-button-text",
    secondary_bg_color: "--tg-secondary", section_bg_color: "--tg-section",
    accent_text_color: "--tg-accent", destructive_text_color: "--tg-danger",
  };
  function applyTheme() {
    const app = tg();
    const params = (app && app.themeParams) || {};
    const root = document.documentElement;
    for (const [key, name] of Object.entries(THEME_VARS)) {
      if (params[key]) root.style.setProperty(name, params[key]); else root.style.removeProperty(name);
    }
    if (app && app.colorScheme) root.dataset.scheme = app.colorScheme;
  }

  let hooked = null;
  function hookTelegram() {
    const app = tg();
    if (!app || hooked === app) return;
    hooked = app;
    try { app.ready(); app.expand && app.expand(); } catch (e) { /* an old client */ }
    applyTheme();
    app.onEvent && app.onEvent("themeChanged", applyTheme);
    app.BackButton && app.BackButton.onClick && app.BackButton.onClick(back);
    app.MainButton && app.MainButton.onClick && app.MainButton.onClick(() => mainAction && mainAction());
    LANG = userLang();
  }

  // -- small helpers -----------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const svg = (tag, attrs) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  };
  const money = (amount, currency) => (SYMBOLS[currency || CURRENCY] || "") + Number(amount).toLocaleString(
    LANG === "zh_CN" ? "zh-CN" : "en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const date = (iso) => iso ? new Date(iso).toLocaleString(LANG === "zh_CN" ? "zh-CN" : "en-GB",
    { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }) : "";
  function toast(text) {
    const box = document.getElementById("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 2600);
  }
  const haptic = (kind) => { try { tg().HapticFeedback.notificationOccurred(kind); } catch (e) { /* none */ } };

  async function api(path, options) {
    const response = await fetch(BASE + "/api" + path, Object.assign({
      headers: { Authorization: "tma " + initData(), "Content-Type": "application/json" },
    }, options || {}));
    let data = {};
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) {
      const error = new Error(data.error || t("error"));
      error.status = response.status;
      throw error;
    }
    return data;
  }
  const post = (path, data) => api(path, { method: "POST", body: JSON.stringify(data || {}) });

  // -- navigation: a stack of views; Telegram's BackButton pops it --------------------------
  const view = document.getElementById("view");
  const show = (...nodes) => view.replaceChildren(...nodes.flat().filter(Boolean));
  const stack = [];
  let mainAction = null;
  let me = null;

  function setMainButton(text, action) {
    mainAction = action;
    const button = tg() && tg().MainButton;
    if (!button) return;
    if (text) { button.setText(text); button.show(); } else { button.hide(); }
  }
  function render(entry) {
    setMainButton(null, null);
    const back = tg() && tg().BackButton;
    if (back) { if (stack.length > 1) back.show(); else back.hide(); }
    show(el("div", { class: "loading" }, el("span", { class: "spinner" })));
    drawTabs(entry.tab);
    VIEWS[entry.name](entry.params || {}).catch(showError);
    window.scrollTo(0, 0);
  }
  function go(name, params, tab) {
    stack.push({ name, params, tab: tab || (stack.length ? stack[stack.length - 1].tab : name) });
    render(stack[stack.length - 1]);
  }
  function switchTab(name) { stack.length = 0; go(name, {}, name); }
  function back() { if (stack.length > 1) { stack.pop(); render(stack[stack.length - 1]); } }
  function showError(error) {
    show(el("div", { class: "empty" },
      error.status === 401 ? t("open_in_tg") : (error.message || t("error"))));
  }

  function drawTabs(current) {
    const nav = document.getElementById("tabs");
    const tabs = [["deals", "🛍"]];
    if (me && me.roles.promoter) tabs.push(["earnings", "💰"]);
    if (me && me.roles.owner) tabs.push(["groups", "👥"]);
    if (me && me.roles.admin) tabs.push(["admin", "🛠"]);
    nav.hidden = tabs.length < 2;
    nav.replaceChildren(...tabs.map(([name, icon]) => el("button", {
      class: current === name ? "on" : "", "data-tab": name, onclick: () => switchTab(name),
    }, el("span", { class: "ico" }, icon), t(name))));
  }

  // -- members: search and deal pages -------------------------------------------------------
  // Soft two-tone tiles for deals without a picture, one per category.
  const COLORS = [["#ff9a62", "#ff5f6d"], ["#5ee7df", "#29a8c9"], ["#8fa8ff", "#5b6cf0"],
    ["#fda4d4", "#e5579e"], ["#a8e063", "#56ab2f"], ["#ffd86f", "#fc9d37"], ["#c39bff", "#8656e8"]];
  function thumb(deal) {
    const box = el("div", { class: "thumb" });
    const placeholder = () => {
      const n = [...(deal.category || deal.sku)].reduce((a, c) => a + c.codePointAt(0), 0);
      const [from, to] = COLORS[n % COLORS.length];
      return el("div", { class: "ph", style: `background:linear-gradient(135deg,${from},${to})` },
        [...(deal.title || "?").trim()][0].toUpperCase());
    };
    if (deal.image) {
      // A picture that cannot load (offline, a dead link) gives way to the placeholder.
      box.append(el("img", { src: deal.image, alt: "", loading: "lazy", onerror: (e) => e.target.replaceWith(placeholder()) }));
    } else {
      box.append(placeholder());
    }
    if (deal.discount > 0) {
      box.append(el("span", { class: "badge" }, LANG === "zh_CN" ? `省${deal.discount}%` : `-${deal.discount}%`));
    }
    return box;
  }
  function priceLine(deal) {
    return el("div", { class: "price" }, money(deal.price, deal.currency),
      Number(deal.original_price) > Number(deal.price) ? el("span", { class: "was" }, money(deal.original_price, deal.currency)) : null);
  }

  const search = { q: "", category: "", min_price: "", max_price: "", min_discount: "" };
  let categories = null;

  async function VIEWS_deals() {
    const firstTime = categories === null;
    if (firstTime) categories = [];
    const loaded = firstTime
      ? api("/categories").then((data) => { categories = data.categories; }, () => { categories = null; })
      : Promise.resolve();
    const list = el("div", { class: "list", id: "results" });
    const moreBox = el("div", { class: "more" });
    const input = el("input", { type: "search", id: "q", placeholder: t("search"), value: search.q, enterkeyhint: "search" });
    const chipButtons = () => ["", ...(categories || [])].map((c) => el("button", {
      class: "chip" + (search.category === c ? " on" : ""), "data-category": c,
      onclick: () => { search.category = c; switchTab("deals"); },
    }, c || t("all")));
    const chips = el("div", { class: "chips" }, chipButtons());
    const minP = el("input", { type: "number", inputmode: "decimal", min: "0", placeholder: t("min"), value: search.min_price, id: "min_price" });
    const maxP = el("input", { type: "number", inputmode: "decimal", min: "0", placeholder: t("max"), value: search.max_price, id: "max_price" });
    const disc = el("select", { id: "min_discount" }, [["", t("any_discount")], ["10", "≥10%"], ["30", "≥30%"], ["50", "≥50%"]]
      .map(([v, label]) => el("option", { value: v, selected: search.min_discount === v }, label)));
    const apply = () => {
      Object.assign(search, { q: input.value.trim(), min_price: minP.value, max_price: maxP.value, min_discount: disc.value });
      load(0, true);
    };
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") { input.blur(); apply(); } });
    input.addEventListener("search", apply);
    for (const box of [minP, maxP, disc]) box.addEventListener("change", apply);
    show(el("div", { class: "head" }, el("h1", {}, t("title_deals")),
      el("form", { class: "search", onsubmit: (e) => { e.preventDefault(); input.blur(); apply(); } }, input),
      chips, el("div", { class: "filters" }, minP, "–", maxP, disc)), list, moreBox);

    async function load(offset, fresh) {
      const params = new URLSearchParams({ offset: String(offset) });
      for (const k of ["q", "category", "min_price", "max_price", "min_discount"]) if (search[k]) params.set(k, search[k]);
      let data;
      try { data = await api("/deals?" + params); } catch (e) {
        if (e.status === 401) showError(e); else toast(e.message);  // not signed in: say how
        return;
      }
      if (fresh) list.replaceChildren();
      for (const deal of data.deals) {
        list.append(el("button", { class: "card", "data-sku": deal.sku, onclick: () => go("deal", { id: deal.id }) },
          thumb(deal), el("div", { class: "body" }, el("div", { class: "title" }, deal.title), priceLine(deal),
            el("div", { class: "meta" }, deal.merchant))));
      }
      if (fresh && !data.deals.length) list.replaceChildren(el("div", { class: "empty", style: "grid-column:1/-1" }, t("none")));
      moreBox.replaceChildren(data.next_offset !== null ? el("button", { class: "btn ghost", onclick: () => load(data.next_offset, false) }, t("more")) : "");
    }
    await Promise.all([load(0, true), loaded.then(() => { if (firstTime && categories) chips.replaceChildren(...chipButtons()); })]);
  }

  async function VIEWS_deal(params) {
    const [deal] = await Promise.all([api("/deals/" + params.id), meReady]);
    const buy = async () => {
      try {
        const { url } = await post(`/deals/${deal.id}/buy`);
        haptic("success");
        toast(t("link_ready"));
        if (tg() && tg().openLink) tg().openLink(url); else window.open(url, "_blank") || (location.href = url);
      } catch (e) { toast(e.message); }
    };
    const share = async () => {
      try {
        const { prepared_message_id: id } = await post(`/deals/${deal.id}/share`);
        if (!(tg() && tg().shareMessage)) { toast(t("share_needs_tg")); return; }
        tg().shareMessage(id, (sent) => { if (sent) { haptic("success"); toast(t("shared")); } });
      } catch (e) { toast(e.message); }
    };
    const stock = deal.stock === null ? t("unlimited") : (deal.stock > 0 ? String(deal.stock) : t("sold"));
    const promoter = me && me.roles.promoter;
    show(
      // The card is 1080×1350: its size keeps the page from moving when the image arrives.
      el("div", { class: "deal-img" }, el("img", { src: deal.card, alt: deal.title, width: 1080, height: 1350 })),
      el("div", { class: "sheet" }, el("h2", {}, deal.title), priceLine(deal),
        el("dl", { class: "facts" },
          el("dt", {}, t("merchant")), el("dd", {}, deal.merchant),
          el("dt", {}, t("stock")), el("dd", { id: "stock" }, stock),
          el("dt", {}, t("ends")), el("dd", { id: "ends" }, deal.ends_at ? date(deal.ends_at) : t("no_end")))),
      deal.live ? el("div", { class: "actions" },
        el("button", { class: "btn", id: "buy", onclick: buy }, `🛒 ${t("buy")} ${money(deal.price, deal.currency)}`),
        promoter ? el("button", { class: "btn ghost", id: "share", onclick: share }, "📣 " + t("share")) : null)
        : el("div", { class: "empty" }, t("gone")));
    if (deal.live) setMainButton(`${t("buy")} ${money(deal.price, deal.currency)}`, buy);
  }

  // -- promoters: the dashboard --------------------------------------------------------------
  function chart(series, currency) {
    const W = 340, H = 170, L = 34, B = 20, T = 10;
    const values = series.map((p) => Number(p.amount));
    const top = Math.max(1, ...values);
    const x = (i) => L + (i * (W - L - 6)) / Math.max(1, series.length - 1);
    const y = (v) => T + (H - T - B) * (1 - v / top);
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", id: "chart", preserveAspectRatio: "none" });
    const defs = svg("defs");
    const grad = svg("linearGradient", { id: "fill", x1: "0", y1: "0", x2: "0", y2: "1" });
    grad.append(svg("stop", { offset: "0", "stop-color": "var(--button)", "stop-opacity": ".35" }),
      svg("stop", { offset: "1", "stop-color": "var(--button)", "stop-opacity": "0" }));
    defs.append(grad);
    root.append(defs);
    for (const frac of [0, 0.5, 1]) {
      root.append(svg("line", { x1: L, x2: W - 6, y1: y(top * frac), y2: y(top * frac), stroke: "currentColor", "stroke-opacity": ".1" }));
      const label = svg("text", { x: L - 4, y: y(top * frac) + 3, "text-anchor": "end", class: "axis" });
      label.textContent = (SYMBOLS[currency] || "") + (top * frac).toFixed(top * frac >= 100 ? 0 : 2);
      root.append(label);
    }
    const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    root.append(svg("path", { d: `M${x(0)},${y(0)} L${points.join(" L")} L${x(values.length - 1)},${y(0)} Z`, fill: "url(#fill)" }));
    root.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: "var(--button)", "stroke-width": "2.2", "stroke-linejoin": "round", "vector-effect": "non-scaling-stroke" }));
    for (const i of [0, Math.floor(series.length / 2), series.length - 1]) {
      if (!series[i]) continue;
      const label = svg("text", { x: x(i), y: H - 4, "text-anchor": i === 0 ? "start" : (i === series.length - 1 ? "end" : "middle"), class: "axis" });
      label.textContent = series[i].date.slice(5);
      root.append(label);
    }
    return root;
  }

  async function VIEWS_earnings() {
    const d = await api("/dashboard");
    const c = d.currency;
    const earned = ["pending", "confirmed", "payable", "paid"].reduce((a, b) => a + Number(d.buckets[b]), 0);
    const team = d.team;
    const goal = team.next_tier ? Math.max(1, team.needed) : 1;
    const have = team.next_tier ? Math.max(0, goal - team.missing) : 1;
    show(
      el("div", { class: "hero" }, el("div", {}, t("total")), el("div", { class: "big", id: "total" }, money(earned.toFixed(2), c)),
        el("div", { class: "sub" }, el("span", {}, `${t("d7")} ${money(d.last_7_days, c)}`), el("span", {}, `${t("d30")} ${money(d.last_30_days, c)}`),
          el("span", {}, `${t("clicks")} ${d.clicks}`), el("span", {}, `${t("orders")} ${d.orders}`))),
      el("div", { class: "buckets" }, ["pending", "confirmed", "payable", "paid", "reversed"].map((b) =>
        el("div", { class: "bucket", "data-bucket": b }, el("b", {}, money(d.buckets[b], c)), el("span", {}, t(b))))),
      el("div", { class: "section-title" }, t("chart")), el("div", { class: "chart" }, chart(d.series, c)),
      d.per_group.length ? el("div", { class: "section-title" }, t("per_group")) : null,
      d.per_group.length ? el("div", { class: "lines" }, d.per_group.map((g) => el("div", { class: "line" }, el("span", {}, g.title), el("b", {}, money(g.amount, c))))) : null,
      el("div", { class: "section-title" }, t("team")),
      el("div", { class: "sheet" },
        el("div", { class: "line", style: "padding:0 0 6px;border:0" }, el("span", {}, t("tier")), el("b", { id: "tier" }, t(team.tier))),
        el("div", { class: "bar" }, el("i", { style: `width:${Math.round((100 * have) / goal)}%` })),
        el("div", { class: "note" }, team.next_tier ? t("next_tier", { tier: t(team.next_tier), missing: team.missing }) : t("top_tier")),
        el("div", { class: "note" }, `${t("invitees")} ${team.invitees} · ${t("active")} ${team.active_invitees} · ${t("team_earned")} ${money(team.team_earned, c)}`)),
      el("div", { class: "section-title" }, t("payouts")),
      el("div", { class: "lines" }, d.payouts.length ? d.payouts.map((p) => el("div", { class: "line" }, el("span", { class: "hint" }, date(p.at)), el("b", {}, money(p.amount, p.currency))))
        : el("div", { class: "line" }, el("span", { class: "hint" }, t("no_payouts")))));
  }

  // -- group owners ------------------------------------------------------------------------
  async function VIEWS_groups() {
    const { groups } = await api("/groups");
    if (!groups.length) { show(el("div", { class: "empty" }, t("no_groups"))); return; }
    show(el("div", { class: "head" }, el("h1", {}, t("groups"))), ...groups.map(groupForm));
  }
  function groupForm(g) {
    const status = el("div", { class: "note" }, `${t("last_post")}: ${g.last_post_at ? date(g.last_post_at) : t("never")}`);
    const times = el("input", { type: "text", name: "times", value: g.times.join(" "), inputmode: "numeric", placeholder: "09:00 20:00" });
    const zone = el("input", { type: "text", name: "timezone", value: g.timezone, list: "zones", autocapitalize: "off" });
    const cats = el("input", { type: "text", name: "categories", value: g.categories.join(" "), placeholder: (categories || []).join(" ") });
    const paused = el("input", { type: "checkbox", name: "paused", checked: g.paused });
    // A forum's topics the bot has seen (created, renamed, or /topic sent in them).
    const topic = g.topics.length || g.topic_id ? el("select", { name: "topic" },
      el("option", { value: "" }, t("main_chat")),
      ...g.topics.map((x) => el("option", { value: String(x.id), selected: x.id === g.topic_id }, x.name)),
      g.topic_id && !g.topics.some((x) => x.id === g.topic_id) ? el("option", { value: String(g.topic_id), selected: true }, `#${g.topic_id}`) : null) : null;
    const save = async (e) => {
      e.preventDefault();
      const data = { times: times.value.trim().split(/\s+/).filter(Boolean), timezone: zone.value.trim(),
        categories: cats.value.trim().split(/\s+/).filter(Boolean), paused: paused.checked };
      if (topic) data.topic = topic.value ? Number(topic.value) : null;
      try {
        const { group } = await post(`/groups/${g.chat_id}`, data);
        haptic("success");
        status.className = "ok";
        status.textContent = t("saved", { next: group.next_slot_at ? date(group.next_slot_at) : "—" });
      } catch (error) { haptic("error"); status.className = "err"; status.textContent = error.message; }
    };
    return el("form", { class: "sheet form", "data-chat": g.chat_id, onsubmit: save },
      el("h2", {}, g.title),
      el("label", {}, t("times"), times), el("label", {}, t("timezone"), zone),
      el("label", {}, t("categories"), cats),
      el("label", { class: "switch" }, t("paused"), paused), topic && el("label", {}, t("topic"), topic),
      el("datalist", { id: "zones" }, ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "Europe/London", "America/New_York", "UTC"]
        .map((z) => el("option", { value: z }))),
      el("button", { class: "btn", type: "submit" }, t("save")), status);
  }

  // -- platform admins ---------------------------------------------------------------------
  async function VIEWS_admin(params) {
    const window_ = params.window || "30d";
    const [s, b] = await Promise.all([api("/admin/stats?window=" + window_), api("/admin/balances")]);
    const c = s.currency;
    const pick = el("select", { id: "window", onchange: (e) => { stack[stack.length - 1].params = { window: e.target.value }; render(stack[stack.length - 1]); } },
      ["7d", "30d", "all"].map((w) => el("option", { value: w, selected: w === window_ }, w)));
    const stat = (label, value) => el("div", { class: "bucket" }, el("b", {}, value), el("span", {}, label));
    const user = el("input", { type: "text", name: "user", autocapitalize: "off", placeholder: "123456 / @name" });
    const amount = el("input", { type: "text", name: "amount", inputmode: "decimal", placeholder: "10.00" });
    const result = el("div", { class: "note" });
    const pay = async (e) => {
      e.preventDefault();
      try {
        const done = await post("/admin/payout", { user: user.value.trim(), amount: amount.value.trim() });
        haptic("success");
        result.className = "ok";
        result.textContent = t("paid_ok", { amount: money(done.amount, done.currency), user: done.username ? `@${done.username}` : done.user });
        // The list of balances owed shows the payout at once.
        const fresh = await api("/admin/balances");
        document.getElementById("balances").replaceWith(owedList(fresh.balances));
      } catch (error) { haptic("error"); result.className = "err"; result.textContent = error.message; }
    };
    const owedList = (balances) => el("div", { class: "lines", id: "balances" }, balances.length ? balances.map((o) => el("div", {
      class: "line", onclick: () => { user.value = String(o.user_id); amount.value = o.payable; },
    }, el("span", {}, o.username ? `${o.name} @${o.username}` : o.name, el("br"), el("span", { class: "hint" }, `${o.user_id} · ${t("pending")} ${money(o.pending, c)} · ${t("confirmed")} ${money(o.confirmed, c)}`)),
    el("b", {}, money(o.payable, c)))) : el("div", { class: "line" }, el("span", { class: "hint" }, t("nobody"))));
    const parts = Object.entries(s.commission_by_party).map(([p, a]) => `${t(p)} ${money(a, c)}`).join(" · ") || "—";
    show(
      el("div", { class: "head" }, el("h1", {}, t("stats")), el("div", { class: "filters" }, t("window"), pick)),
      el("div", { class: "stats" }, stat(t("gmv"), money(s.gmv, c)), stat(t("orders"), s.orders), stat(t("clicks"), s.clicks),
        stat(t("taps"), s.taps), stat(t("posts"), s.posts), stat(t("groups"), `${s.active_groups}/${s.groups}`),
        stat(t("promoters"), s.promoters), stat(t("bot_hits"), s.bot_hits),
        s.stars_spent !== null ? stat(t("stars"), `⭐ ${s.stars_spent}`) : null),
      el("div", { class: "sheet note" }, `${t("commission")}: ${parts}`),
      el("div", { class: "section-title" }, t("balances")),
      owedList(b.balances),
      el("div", { class: "section-title" }, t("payout")),
      el("form", { class: "sheet form", id: "payout", onsubmit: pay }, el("label", {}, t("user_id"), user),
        el("label", {}, t("amount"), amount), el("button", { class: "btn", type: "submit" }, t("pay")), result));
  }

  const VIEWS = { deals: VIEWS_deals, deal: VIEWS_deal, earnings: VIEWS_earnings, groups: VIEWS_groups, admin: VIEWS_admin };

  let meReady = Promise.resolve(null);
  async function start() {
    hookTelegram();
    applyTheme();
    // The deal list does not wait for /me (a promoter's balances take longest to add up);
    // the tabs appear when it answers.
    meReady = api("/me").then((data) => { me = data; }, () => { me = null; })
      .then(() => { if (stack.length) drawTabs(stack[stack.length - 1].tab); });
    body.classList.add("ready");
    const start = (tg() && tg().initDataUnsafe && tg().initDataUnsafe.start_param) || launchParam("tgWebAppStartParam");
    stack.length = 0;
    if (start && start.startsWith("d_") && /^\d+$/.test(start.slice(2))) {
      stack.push({ name: "deals", params: {}, tab: "deals" });
      go("deal", { id: start.slice(2) }, "deals");
    } else {
      go("deals", {}, "deals");
    }
  }

  window.kocbot = {
    telegramLoaded() { hookTelegram(); },
    go, back, switchTab, applyTheme,
  };
  start();
})();
