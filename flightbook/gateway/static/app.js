/* flightbook: airport autocomplete, return-date toggle, the live cash + points split (payments' quote), print. No framework. */
(function () {
  "use strict";

  function autocomplete(input) {
    var list = document.createElement("ul");
    var listId = input.id + "-suggestions";
    var items = [], active = -1, timer = null, lastQuery = "";
    list.id = listId; list.className = "suggestions"; list.setAttribute("role", "listbox"); list.hidden = true;
    input.parentNode.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);

    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); active = -1; }
    function choose(i) { if (!items[i]) return; input.value = items[i].label; close(); }
    function highlight(i) {
      var nodes = list.children;
      for (var k = 0; k < nodes.length; k++) nodes[k].setAttribute("aria-selected", k === i ? "true" : "false");
      active = i;
      if (nodes[i]) { input.setAttribute("aria-activedescendant", nodes[i].id); nodes[i].scrollIntoView({block: "nearest"}); }
    }
    function show(found) {
      items = found; list.innerHTML = "";
      found.forEach(function (place, i) {
        var li = document.createElement("li");
        li.id = listId + "-" + i; li.setAttribute("role", "option"); li.setAttribute("aria-selected", "false");
        var left = document.createElement("span");
        var city = document.createElement("strong"); city.textContent = place.city || place.name;
        var where = document.createElement("span"); where.className = "where";
        where.textContent = place.kind === "city" ? " All airports: " + place.airports.join(", ") : " " + place.name + ", " + place.country;
        left.appendChild(city); left.appendChild(where);
        var code = document.createElement("span"); code.className = "code"; code.textContent = place.iata;
        li.appendChild(left); li.appendChild(code);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      if (!found.length) {  // said, not silently nothing: the traveller knows to type something else
        var none = document.createElement("li");
        none.className = "no-match"; none.setAttribute("role", "option"); none.setAttribute("aria-disabled", "true");
        none.id = listId + "-none"; none.textContent = "No matches for “" + input.value.trim() + "”";
        list.appendChild(none);
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
    }
    function lookup() {
      var q = input.value.trim();
      if (q.length < 2) { close(); return; }
      if (q === lastQuery) return;
      lastQuery = q;
      fetch(input.dataset.autocomplete + "?q=" + encodeURIComponent(q), {headers: {Accept: "application/json"}})
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (found) { if (input.value.trim() === q) show(found); })
        .catch(function () { close(); });
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(lookup, 120); });
    input.addEventListener("keydown", function (e) {
      if (list.hidden) { if (e.key === "ArrowDown") { lastQuery = ""; lookup(); } return; }
      if (!items.length) { if (e.key === "Escape") close(); return; }
      if (e.key === "ArrowDown") { e.preventDefault(); highlight(Math.min(active + 1, items.length - 1)); }
      else if (e.key === "ArrowUp") { e.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (e.key === "Enter" && active >= 0) { e.preventDefault(); choose(active); }
      else if (e.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }

  function tripType(form) {
    var returnField = form.querySelector("[data-return-only]");
    if (!returnField) return;
    function sync() {
      var checked = form.querySelector("input[name=trip]:checked");
      var isReturn = checked && checked.value === "return";
      returnField.hidden = !isReturn;
      returnField.querySelector("input").disabled = !isReturn;
    }
    form.querySelectorAll("input[name=trip]").forEach(function (r) { r.addEventListener("change", sync); });
    sync();
  }

  function formatMoney(minor, currency) {
    var digits = {JPY: 0, KRW: 0, VND: 0, CLP: 0, ISK: 0, BHD: 3, KWD: 3, JOD: 3, OMR: 3, TND: 3}[currency];
    if (digits === undefined) digits = 2;
    var symbols = {USD: "$", EUR: "€", GBP: "£", JPY: "¥"};
    var text = (minor / Math.pow(10, digits)).toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits});
    return symbols[currency] ? symbols[currency] + text : text + " " + currency;
  }

  function pointsSplit(form) {
    var range = form.querySelector("[data-points-range]"), box = form.querySelector("[data-points-input]");
    if (!range || !box) return;
    var currency = form.dataset.currency, ref = form.dataset.ref;
    var cashOut = form.querySelector("[data-split-cash]"), pointsOut = form.querySelector("[data-split-points]");
    var payButton = form.querySelector("[data-pay-button]"), cardFields = form.querySelector("[data-card-fields]");
    var step = parseInt(range.step, 10) || 1, maxPoints = parseInt(range.max, 10), asked = 0;
    // What the points pay and what the card pays are payments' answer (its quote), never worked out here.
    function show(points, quote) {
      var card = quote.card.amount;
      pointsOut.textContent = points.toLocaleString("en-US") + " pts (−" + formatMoney(quote.points_value.amount, currency) + ")";
      cashOut.textContent = formatMoney(card, currency);
      payButton.textContent = card > 0 ? "Pay " + formatMoney(card, currency) : "Pay with " + points.toLocaleString("en-US") + " points";
      cardFields.disabled = card === 0;
    }
    function update(value) {
      var points = Math.max(0, Math.min(maxPoints, parseInt(value, 10) || 0));
      points = points - (points % step);  // the inputs' step: loyalty holds whole blocks of points
      range.value = points; box.value = points;
      var mine = ++asked;
      fetch("/api/gateway/payments/quote?booking_ref=" + encodeURIComponent(ref) + "&points=" + points,
            {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (quote) { if (quote && mine === asked) show(points, quote); })
        .catch(function () {});
    }
    range.addEventListener("input", function () { update(range.value); });
    // useful steps from the keyboard: 100 points an arrow press, 1,000 a Page Up / Page Down
    var keySteps = {ArrowUp: 100, ArrowRight: 100, ArrowDown: -100, ArrowLeft: -100, PageUp: 1000, PageDown: -1000};
    range.addEventListener("keydown", function (e) {
      if (!(e.key in keySteps)) return;
      e.preventDefault();
      var size = Math.abs(keySteps[e.key]), blocks = Math.max(step, Math.round(size / step) * step);
      update((parseInt(range.value, 10) || 0) + (keySteps[e.key] < 0 ? -blocks : blocks));
    });
    box.addEventListener("input", function () { update(box.value); });
    var all = form.querySelector("[data-points-all]");
    if (all) all.addEventListener("click", function () { update(maxPoints); });  // usable = all the fare needs
  }

  // The return trip's total for everyone, once both directions are chosen: flights' quote (what booking them
  // would charge), never added up here.
  function tripTotal(form) {
    var out = form.querySelector("[data-trip-total]");
    if (!out) return;
    var asked = 0;
    function update() {
      var there = form.querySelector("input[name=outbound_id]:checked"), back = form.querySelector("input[name=return_id]:checked");
      if (!there || !back) return;
      var mine = ++asked, adults = parseInt(form.dataset.passengers, 10) || 1,
          children = parseInt(form.dataset.children, 10) || 0, infants = parseInt(form.dataset.infants, 10) || 0,
          n = adults + children + infants;
      fetch("/api/gateway/flights/quote?cabin=" + encodeURIComponent(form.dataset.cabin) + "&passengers=" + adults +
            "&children=" + children + "&infants=" + infants +
            "&outbound_id=" + encodeURIComponent(there.value) + "&return_id=" + encodeURIComponent(back.value),
            {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (quote) {
          if (mine !== asked) return;
          out.textContent = "";
          if (!quote) { out.textContent = "These flights cannot be booked together; choose another pair."; return; }
          out.appendChild(document.createTextNode("Trip total for " + n + (n === 1 ? " passenger: " : " passengers: ")));
          var strong = document.createElement("strong"); strong.setAttribute("data-trip-amount", "");
          strong.textContent = formatMoney(quote.total.amount, quote.total.currency);
          out.appendChild(strong);
        })
        .catch(function () {});
    }
    form.addEventListener("change", function (e) { if (e.target.type === "radio") update(); });
  }

  // The hold's expiry in the traveller's own time zone, and the time left, counted down each second.
  function holdClock() {
    document.querySelectorAll("time[data-local-time]").forEach(function (t) {
      var when = new Date(t.getAttribute("datetime"));
      if (!isNaN(when)) t.textContent = when.toLocaleString(undefined, {weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short"});
    });
    document.querySelectorAll("[data-countdown]").forEach(function (box) {
      var end = new Date(box.dataset.countdown).getTime();
      if (isNaN(end)) return;
      box.hidden = false;
      function tick() {
        var left = Math.max(0, Math.round((end - Date.now()) / 1000));
        box.textContent = left > 0 ? "(" + Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0") + " left)"
                                   : "(the hold has expired: the seats may have been released)";
        if (left > 0) setTimeout(tick, 1000);
      }
      tick();
    });
  }

  // On a short screen the sticky "Continue" bar must not cover the flight that has focus: scroll it clear.
  function keepFocusedOptionClear(form) {
    var bar = form.querySelector(".sticky-actions");
    if (!bar) return;
    form.addEventListener("focusin", function (e) {
      var option = e.target.closest ? e.target.closest(".option") : null;
      if (!option) return;
      var card = option.getBoundingClientRect(), barTop = bar.getBoundingClientRect().top;
      if (card.bottom > barTop) window.scrollBy({top: Math.min(card.bottom - barTop + 8, card.top - 8), behavior: "instant"});
    });
  }

  // A form sent back with problems: focus goes to the first field that has one, so it is heard and can be fixed.
  function focusFirstError() {
    var bad = document.querySelector("form [aria-invalid=true]");
    if (bad) bad.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-autocomplete]").forEach(autocomplete);
    document.querySelectorAll("form[role=search]").forEach(tripType);
    var pay = document.getElementById("pay-form");
    if (pay) pointsSplit(pay);
    document.querySelectorAll("form[data-passengers]").forEach(tripTotal);
    document.querySelectorAll("form[data-passengers]").forEach(keepFocusedOptionClear);
    holdClock();
    focusFirstError();
    document.querySelectorAll("[data-print]").forEach(function (b) { b.addEventListener("click", function () { window.print(); }); });
  });
})();
