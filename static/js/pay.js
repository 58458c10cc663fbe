/* Card payment: the only JavaScript in the portal.
 *
 * Stripe.js collects the card (its data never touches our server), we create a payment
 * method, post its id to our server, and follow what the server says: confirm a 3-D Secure
 * challenge, then go to the payment's page, which shows the outcome. Any error ends on that
 * page too, which always tells the truth about whether money was taken.
 */
(function () {
  "use strict";
  var form = document.getElementById("card-payment");
  if (!form || typeof Stripe !== "function") { return; }
  var stripe = Stripe(form.dataset.key);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var button = document.getElementById("pay-button");
  var errors = document.getElementById("card-errors");
  var label = button.textContent;

  function fail(message) {
    errors.textContent = message || form.dataset.errorGeneric;
    button.disabled = false;
    button.textContent = label;
  }

  async function paymentMethodId() {
    var result = await stripe.createPaymentMethod({ type: "card", card: card });
    if (result && result.error) { throw result.error; }
    if (result && result.paymentMethod) { return result.paymentMethod.id; }
    // localstripe's stand-in (demo and tests) leaves createPaymentMethod empty: its
    // tokens carry a card id that works as a payment method.
    var token = await stripe.createToken(card);
    if (token.error) { throw token.error; }
    return token.token.card.id;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (button.disabled) { return; }
    button.disabled = true;
    button.textContent = form.dataset.working;
    errors.textContent = "";
    var methodId;
    try {
      methodId = await paymentMethodId();
    } catch (error) {
      fail(error && error.message);
      return;
    }
    try {
      var response = await fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": form.dataset.csrf },
        body: JSON.stringify({ payment_method: methodId })
      });
      var answer = await response.json();
      if (answer.client_secret) {
        await stripe.confirmCardPayment(answer.client_secret);
      }
      window.location.assign(answer.next);
    } catch (error) {
      // Unknown outcome: the payment's page asks the server, which asks Stripe.
      window.location.reload();
    }
  });
}());
