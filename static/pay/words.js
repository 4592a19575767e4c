/* JoPay pay page: the words its script shows itself (loaded before pay.js).
 * The server renders the same messages from payments/pay/presenters.py
 * (MISMATCH_TEXT, PROOF_ERROR_TEXT); test_pay_page_wording keeps the lists equal. */
window.JoPayWords = (function () {
  "use strict";
  // A D20 mismatch reason, in the customer's words.
  var REASONS = {
    tx_failed: "the transaction failed on-chain",
    wrong_token: "it did not transfer USDC",
    wrong_recipient: "the USDC went to another address or paid another request",
    underpaid: "the amount was lower than requested",
    late: "it was not sent while this request was open for payment",
    not_found_after_timeout: "we could not find it on-chain"
  };
  // A refused hash (the /proof error code), in the customer's words.
  var ERRORS = {
    invalid_tx_hash: "That is not a transaction hash (0x followed by 64 hex characters).",
    unsupported_chain: "That network is not accepted for this payment.",
    proof_already_used: "That transaction already paid another request.",
    proof_not_accepted: "This request no longer accepts payments.",
    rate_limited: "Too many attempts. Please wait a little and try again.",
    not_found: "This payment link is not valid."
  };
  // Said to screen readers when the page changes by itself (D16).
  var ANNOUNCE = {
    grace: "This payment request has expired. Please do not send funds now. If you paid before it expired, you can still submit the transaction hash.",
    over: "This payment request has expired. Please do not send funds."
  };
  // The browser wallet's answers (wallet.js); {network} and {chain_id} are filled in.
  var WALLET = {
    no_wallet: "No browser wallet found. Scan the QR code with your wallet app, or send the exact amount and paste the transaction hash below.",
    rejected: "You rejected the request in your wallet. Nothing was sent.",
    pending: "Your wallet is already waiting for you: open it, finish or close that request, then try again.",
    // A connect, network or add prompt left without an answer (wallet.js gave it up).
    no_answer: "Your wallet did not answer. Nothing was sent. Open your wallet, finish or close its request, then try again, or send the exact amount to the recipient address above and paste the transaction hash below.",
    unknown_chain: "Your wallet does not have {network} yet. Add {network} (chain id {chain_id}) to your wallet, then try again. Or send the exact amount to the recipient address above and paste the transaction hash below.",
    // The same, when the page can hand the wallet the network (a public RPC URL).
    add_chain: "Your wallet does not have {network} yet. Add it with the button below, then confirm the payment in your wallet. Or send the exact amount to the recipient address above and paste the transaction hash below.",
    add_chain_button: "Add {network} to your wallet",
    adding: "Confirm adding {network} in your wallet…",
    add_rejected: "You did not add {network} to your wallet. Nothing was sent. Try again with the button below, or send the exact amount to the recipient address above and paste the transaction hash below.",
    not_switched: "Your wallet is still on another network, not {network} (chain id {chain_id}). Nothing was sent. Switch your wallet to {network}, then try again, or send the exact amount to the recipient address above and paste the transaction hash below.",
    // The wallet sent the transfer; the page posts its hash next (which may fail).
    sent: "Sent: {hash}. Do not pay again. If this page does not say it is checking your payment, submit the transaction hash below: it is filled in already.",
    failed: "Your wallet could not send the payment. Please try again, or send the exact amount to the recipient address above and paste the transaction hash below."
  };
  // Notes about the page itself.
  var NOTES = {
    // A refused hash's wait (D27), as presenters.RATE_LIMITED_WAIT_TEXT.
    rate_limited_wait: "Too many attempts. Please try again in {wait}.",
    connection_lost: "Connection lost — retrying… The status above may be out of date until we reconnect."
  };
  return { REASONS: REASONS, ERRORS: ERRORS, ANNOUNCE: ANNOUNCE, WALLET: WALLET, NOTES: NOTES };
})();
