// Live SMS counter for the send form. It mirrors src/simgate/domain/sms.py:
// GSM-7 (extension characters cost two septets) fits 160 in one part and 153
// per part when split; anything else is UCS-2 at 70 / 67 UTF-16 units; a part
// never splits an escape sequence or a surrogate pair. The server counts
// again on submit; this is only a preview.
(function () {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "\f^{}\\[~]|€";

  function costs(text) {
    var gsm = [], ucs = [], isGsm = true;
    for (var ch of text) {            // iterates code points, not UTF-16 units
      ucs.push(ch.length);            // 2 for a surrogate pair
      if (!isGsm) continue;
      if (BASIC.indexOf(ch) >= 0) gsm.push(1);
      else if (EXTENSION.indexOf(ch) >= 0) gsm.push(2);
      else isGsm = false;
    }
    return isGsm ? {encoding: "GSM-7", costs: gsm, single: 160, multi: 153}
                 : {encoding: "UCS-2", costs: ucs, single: 70, multi: 67};
  }

  function count(text) {
    var c = costs(text), total = 0, parts = 1, used = 0;
    c.costs.forEach(function (n) { total += n; });
    if (text.length === 0) return {encoding: c.encoding, parts: 0, chars: 0};
    if (total > c.single) {
      c.costs.forEach(function (n) {
        if (used + n > c.multi) { parts += 1; used = 0; }
        used += n;
      });
    }
    return {encoding: c.encoding, parts: parts, chars: Array.from(text).length};
  }

  function attach(area) {
    var out = document.getElementById(area.dataset.smsCounter);
    if (!out) return;
    function update() {
      var r = count(area.value);
      out.textContent = r.chars + " characters · " + r.encoding + " · " + r.parts +
        (r.parts === 1 ? " part" : " parts");
      out.classList.toggle("long", r.parts > 1);
    }
    area.addEventListener("input", update);
    update();
  }

  document.querySelectorAll("textarea[data-sms-counter]").forEach(attach);
  window.simgateCountSms = count;     // used by the browser tests
})();
