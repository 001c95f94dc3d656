"""Lead-capture conversations: a "digital employee" that answers like an expert first and asks for contact
details at the right moment.

Two agents and a policy between them (issue 15):

* :mod:`.intents` — per message: language, the needs in it (a message with two needs is split and both are
  answered), and signals (greeting, thanks, wants a person, risk words, abuse, injection attempts, stickers and
  images as placeholders, refusing or offering contact details).
* :mod:`.knowledge` and :mod:`.answer` — the answer agent: grounded in the advertiser's FAQ and offers and an
  industry knowledge pack shipped as data (``adloom/data/agent/``); it never invents prices, guarantees or
  medical/financial promises, and every reply passes the compliance checker.
* :mod:`.contacts` — extraction and validation of phone numbers, WeChat IDs, emails, city, budget and timing
  (zh and en, obfuscated digits such as "一三八…").
* :mod:`.lead` — the lead agent: when to ask and how, consent wording, never twice in a row, never after a
  refusal.
* :mod:`.policy` — orders the two (answer first, ask later, or both in one turn when the person is ready), and
  says why.
* :mod:`.pacing` — a pause per reply that grows with its length, one message at a time, like a person typing.
* :mod:`.engine` — :class:`~.engine.ConversationEngine` ties them together: ``respond(state, text) ->
  TurnResult``. State is plain JSON (:mod:`.model`), so serving stores it between webhook calls.
* :mod:`.simulate` — seeded, rule-driven simulated users for the benchmark (``bench/lead_agent.py``).
"""
