/* casedesk web UI behaviour: keyboard shortcuts, local times, row selection, small toggles.
   Loaded from this site only (the Content-Security-Policy forbids inline script). */
(function () {
  "use strict";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  /* ---- times: show local time, and "5 min ago" for recent ones -------------------------- */
  var rtf = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : null;
  var dtf = window.Intl ? new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }) : null;

  function relative(date) {
    if (!rtf) return null;
    var seconds = (date.getTime() - Date.now()) / 1000;
    var abs = Math.abs(seconds);
    if (abs < 45) return rtf.format(Math.round(seconds), "second");
    if (abs < 2700) return rtf.format(Math.round(seconds / 60), "minute");
    if (abs < 86400) return rtf.format(Math.round(seconds / 3600), "hour");
    if (abs < 86400 * 7) return rtf.format(Math.round(seconds / 86400), "day");
    return null;
  }

  function localTimes(root) {
    $all("time[datetime]", root).forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      var absolute = dtf ? dtf.format(d) : d.toString();
      el.title = absolute + " (" + el.getAttribute("datetime") + ")";
      if (el.hasAttribute("data-relative")) {
        el.textContent = relative(d) || absolute;
      } else {
        el.textContent = absolute;
      }
    });
    $all("[data-countdown]", root).forEach(function (el) {
      var d = new Date(el.getAttribute("data-countdown"));
      if (isNaN(d)) return;
      var minutes = Math.round((d.getTime() - Date.now()) / 60000);
      var abs = Math.abs(minutes), text;
      if (abs < 60) text = abs + "m";
      else if (abs < 1440) text = Math.floor(abs / 60) + "h " + (abs % 60) + "m";
      else text = Math.floor(abs / 1440) + "d " + Math.floor((abs % 1440) / 60) + "h";
      el.textContent = minutes >= 0 ? text + " left" : text + " overdue";
    });
  }

  /* ---- case page: a saved response goes into the composer, to adapt before sending -------- */
  function savedResponses() {
    var picker = $("#composer-responses"), body = $("#composer-body");
    if (!picker || !body) return;
    picker.addEventListener("change", function () {
      var option = picker.options[picker.selectedIndex];
      if (!option || !option.value) return;
      var text = option.getAttribute("data-body") || "";
      var start = body.selectionStart, end = body.selectionEnd;
      if (body.value && typeof start === "number") {
        body.value = body.value.slice(0, start) + text + body.value.slice(end);
        body.selectionStart = body.selectionEnd = start + text.length;
      } else {
        body.value = text;
      }
      var mode = $("#mode-" + (option.getAttribute("data-visibility") || "public"));
      if (mode) { mode.checked = true; mode.dispatchEvent(new Event("change", { bubbles: true })); }
      picker.selectedIndex = 0;
      body.focus();
    });
  }

  /* ---- queue: j/k moves, Enter/o opens, x selects --------------------------------------- */
  function rows() { return $all("table.queue tbody tr[data-href]"); }
  function currentIndex(list) {
    for (var i = 0; i < list.length; i++) if (list[i].classList.contains("current")) return i;
    return -1;
  }
  function moveTo(list, index) {
    if (!list.length) return;
    index = Math.max(0, Math.min(list.length - 1, index));
    list.forEach(function (r) { r.classList.remove("current"); });
    list[index].classList.add("current");
    list[index].scrollIntoView({ block: "nearest" });
  }

  function updateBulk() {
    var form = $("#bulk");
    if (!form) return;
    var checked = $all("input[name=case]:checked", form).length;
    var count = $(".bulkbar .count", form);
    if (count) count.textContent = checked ? checked + " selected" : "Select cases to act on several";
    var action = $("select[name=action]", form);
    var value = action ? action.value : "";
    $all("[data-for]", form).forEach(function (el) {
      el.hidden = el.getAttribute("data-for") !== value;
    });
    var to = $("select[name=to]", form);
    var needs = to && to.selectedOptions.length ? (to.selectedOptions[0].getAttribute("data-requires") || "") : "";
    $all("[data-requires-field]", form).forEach(function (el) {
      el.hidden = value !== "transition" || needs.indexOf(el.getAttribute("data-requires-field")) < 0;
    });
  }

  /* ---- new case: show the call fields for phone cases only ------------------------------ */
  function updateChannel() {
    var select = $("#new-case select[name=channel]");
    if (!select) return;
    $all("[data-channel]").forEach(function (el) {
      el.hidden = el.getAttribute("data-channel") !== select.value;
    });
  }

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function composer(mode) {
    var radio = $("#mode-" + mode);
    var body = $("#composer-body");
    if (!radio || !body) return false;
    radio.checked = true;
    body.focus();
    body.scrollIntoView({ block: "center" });
    return true;
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var help = $("#kbd-help");
    if (e.key === "Escape") {
      if (help) help.classList.remove("open");
      if (typing(e.target)) e.target.blur();
      return;
    }
    if (typing(e.target)) return;
    var list = rows();
    var i = currentIndex(list);
    switch (e.key) {
      case "j": moveTo(list, i + 1); break;
      case "k": moveTo(list, i < 0 ? 0 : i - 1); break;
      case "Enter":
      case "o":
        if (i >= 0) { window.location.href = list[i].getAttribute("data-href"); break; }
        return;
      case "x":
        if (i >= 0) {
          var box = $("input[name=case]", list[i]);
          if (box) { box.checked = !box.checked; updateBulk(); }
        }
        break;
      case "/":
        var search = $("#queue-search") || $("#top-search");
        if (search) { search.focus(); search.select(); }
        break;
      case "r": if (!composer("public")) return; break;
      case "n": if (!composer("internal")) return; break;
      case "u": if ($("#case-page")) { window.location.href = "/console"; break; } return;
      case "c": window.location.href = "/console/cases/new"; break;
      case "?": if (help) help.classList.toggle("open"); break;
      default: return;
    }
    e.preventDefault();
  });

  document.addEventListener("click", function (e) {
    var row = e.target.closest && e.target.closest("table.queue tbody tr[data-href]");
    if (row && !e.target.closest("a, input, label, button, select")) {
      window.location.href = row.getAttribute("data-href");
    }
    if (e.target.id === "select-all") {
      $all("#bulk input[name=case]").forEach(function (b) { b.checked = e.target.checked; });
      updateBulk();
    }
    if (e.target.closest && e.target.closest("[data-close-help]")) {
      $("#kbd-help").classList.remove("open");
    }
    /* a transition form left open closes when another one opens */
    var summary = e.target.closest && e.target.closest(".transition-form > summary");
    if (summary) {
      $all(".transition-form[open]").forEach(function (d) { if (d !== summary.parentNode) d.open = false; });
    }
  });

  document.addEventListener("change", function (e) {
    if (e.target.closest && e.target.closest("#bulk")) updateBulk();
    if (e.target.matches && e.target.matches("#new-case select[name=channel]")) updateChannel();
  });

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.id === "bulk" && !$all("input[name=case]:checked", form).length) {
      e.preventDefault();
      window.alert("Select at least one case first.");
    }
    var confirmText = form.getAttribute && form.getAttribute("data-confirm");
    if (confirmText && !window.confirm(confirmText)) e.preventDefault();
  });

  function init(root) {
    localTimes(root);
    updateBulk();
    updateChannel();
    var list = rows();
    if (list.length && currentIndex(list) < 0 && document.activeElement === document.body) {
      list[0].classList.add("current");
    }
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); savedResponses(); });
  document.addEventListener("htmx:afterSettle", function (e) { init(e.target); });
  setInterval(function () { localTimes(document); }, 30000);
})();
