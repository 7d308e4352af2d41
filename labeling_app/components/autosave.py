"""Autosave of the review form as it is typed.

Streamlit sends a text area's value only when it loses focus (or on Ctrl+Enter), so a
reload in the middle of typing would lose the text. This components-v2 component (it
runs in the app page, like the heartbeat) listens to ``input`` events in the form's
text fields, identified by their Streamlit keys (``st-key-<key>`` classes), and sends
the field's text 0.6 s after the last keystroke. The server saves it as the item's
draft (`labeling_app.queues.drafts`). It lives in a fragment: a save reruns only the fragment,
never the page being typed in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

_JS = """
export default function (component) {
  const { data, setTriggerValue } = component;
  let as = window.__evalsAutosave;
  if (!as) {
    as = window.__evalsAutosave = { timers: {}, fields: {}, item: null, send: null };
    document.addEventListener("input", (event) => {
      const target = event.target;
      if (!target || !("value" in target)) { return; }
      let box = target.closest("[class*='st-key-']");
      while (box) {
        const cls = [...box.classList].find((c) => c.startsWith("st-key-"));
        const field = cls && as.fields[cls.slice(7)];
        if (field) {
          const item = as.item;
          clearTimeout(as.timers[field]);
          as.timers[field] = setTimeout(() => {
            if (as.send) { as.send("save", { item: item, field: field, value: target.value }); }
          }, 600);
          return;
        }
        box = box.parentElement && box.parentElement.closest("[class*='st-key-']");
      }
    }, { capture: true });
  }
  as.fields = data.fields;
  as.item = data.item;
  as.send = setTriggerValue;
}
"""

_component = st.components.v2.component("evals_autosave", js=_JS)


def mount_autosave(
    item_id: str, fields: dict[str, str], save: Callable[[str, dict[str, Any]], None]
) -> None:
    """Watch the text fields (widget key -> draft field) of the item on screen and call
    ``save(item_id, {field: text})`` with what was typed (call it inside a fragment)."""
    if st.session_state.get("identity") is None:
        return  # a stale run after logging out saves nothing
    result = _component(
        key="evals_autosave",
        data={"item": item_id, "fields": fields},
        on_save_change=lambda: None,
    )
    sent = getattr(result, "save", None)
    if not isinstance(sent, dict) or sent.get("item") != item_id:
        return
    field, value = sent.get("field"), sent.get("value")
    if field in fields.values() and isinstance(value, str):
        save(item_id, {str(field): value})


autosave = st.fragment(mount_autosave)
"""`mount_autosave` in a fragment of its own."""
