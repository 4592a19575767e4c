/* JoPay pay page: the hash form's refused field for assistive technology
 * (loaded before pay.js, which calls mark and clear). The field is marked
 * aria-invalid and described by the error until it is corrected; the page the
 * server renders after a no-script refusal comes marked already. */
window.JoPayFields = (function () {
  "use strict";
  // The form field a refusal is about (presenters.PROOF_ERROR_FIELD, kept equal).
  var INVALID_FIELD = {
    invalid_tx_hash: "tx_hash",
    proof_already_used: "tx_hash",
    unsupported_chain: "chain_id"
  };
  var FIELD_ID = { tx_hash: "proof-hash", chain_id: "proof-chain" };
  var TX_HASH = /^0x[0-9a-fA-F]{64}$/;
  var invalid = null;  // { el, code, value }

  function valueOf(el) { return (el.value || "").trim(); }
  function clear() {
    if (!invalid) return;
    invalid.el.removeAttribute("aria-invalid");
    invalid.el.removeAttribute("aria-describedby");
    invalid = null;
  }
  function mark(code) {
    clear();
    var el = document.getElementById(FIELD_ID[INVALID_FIELD[code]]);
    if (!el) return;
    el.setAttribute("aria-invalid", "true");
    el.setAttribute("aria-describedby", "proof-error");
    invalid = { el: el, code: code, value: valueOf(el) };
  }
  // A malformed hash is corrected once well-formed; any other refusal once changed.
  function corrected(el) {
    if (!invalid || invalid.el !== el) return false;
    return invalid.code === "invalid_tx_hash" ? TX_HASH.test(valueOf(el)) : valueOf(el) !== invalid.value;
  }
  function watch(id) {
    var el = document.getElementById(id);
    if (!el) return;
    if (el.getAttribute("aria-invalid") === "true") {
      var code = new URLSearchParams(window.location.search).get("proof_error") || "";
      invalid = { el: el, code: code, value: valueOf(el) };
    }
    var check = function () {
      if (!corrected(el)) return;
      clear();
      var error = document.getElementById("proof-error");
      if (error) error.textContent = "";  // the refusal no longer applies
    };
    el.addEventListener("input", check);
    el.addEventListener("change", check);
  }
  watch("proof-hash");
  watch("proof-chain");
  return { mark: mark, clear: clear };
})();
