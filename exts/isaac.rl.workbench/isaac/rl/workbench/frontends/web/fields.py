"""Spec keys as viser inputs: each field shows its value and, under it, the error the panel model keeps for its key.

Values are typed as TOML (``0.5``, ``["slider"]``, ``{ joints = ["hinge"] }``, ``"text"``); a bare word is taken as
a string. Edits are committed by the form a field sits in (Enter, or its Apply button), not on every keystroke, so
a half-typed number never reaches a training run. While a run trains, a field whose key cannot change live is
greyed out, its hint saying why (:meth:`~..panel.PanelModel.live_refusal`: "changes the observation's shape: use
Fork"); a live one's hint says when the run takes it (:func:`~...live_edits.when`).
"""

from __future__ import annotations

from typing import Any

import viser

from ...live_edits import when
from ..panel import PanelModel
from ..panel_layout import from_toml, to_toml

MISSING = object()


def get_key(table: dict, key: str, default: Any = MISSING) -> Any:
    """The value at dotted ``key`` in nested ``table``, or ``default``."""
    node: Any = table
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


class Field:
    """One spec key: a text input (or a checkbox for booleans) and a markdown line for its error."""

    def __init__(self, server: viser.ViserServer, model: PanelModel, key: str, label: str, hint: str | None = None):
        self.model, self.key, self.hint = model, key, hint or key
        value = self.current()
        if isinstance(value, bool):
            self.input = server.gui.add_checkbox(label, value, hint=self.hint)
        else:
            self.input = server.gui.add_text(label, to_toml(value) if value is not MISSING else "", hint=self.hint)
        self.error = server.gui.add_markdown("", visible=False)

    def current(self) -> Any:
        """The key's value: as edited, else the resolved default."""
        value = get_key(self.model.raw, self.key)
        if value is MISSING:
            try:
                value = get_key(self.model.spec().raw, self.key)
            except Exception:  # an invalid spec has no resolved defaults to show
                value = MISSING
        return value

    def edited_value(self) -> Any:
        """What the input holds, typed."""
        return self.input.value if isinstance(self.input.value, bool) else from_toml(self.input.value)

    def commit(self) -> bool:
        """Hand the input's value to the model when it differs from the spec's; True when nothing was refused."""
        value = self.edited_value()
        if value == self.current() and self.key not in self.model.field_errors:
            return True
        return self.model.set_field(self.key, value)

    def refresh(self) -> None:
        """Show the model's value (unless an error keeps the user's text) and the key's error."""
        error = self.model.field_errors.get(self.key)
        if error is None:
            value = self.current()
            if value is not MISSING:
                self.input.value = value if isinstance(self.input.value, bool) else to_toml(value)
        self.error.content = f"**error:** {error}" if error else ""
        self.error.visible = error is not None
        self.show_liveness()

    def show_liveness(self) -> None:
        """While a run trains: greyed out with the reason as hint when the key cannot change live, else a hint
        saying when the run takes it; between runs: editable, with the key's documentation."""
        reason = self.model.live_refusal(self.key)
        if reason is not None:
            hint = f"{self.key}: {reason}"
        elif self.model.run.status == "training":
            hint = f"{self.key}: live, {when(self.key, self.model.raw)}"
        else:
            hint = self.hint
        if self.input.hint != hint or self.input.disabled != (reason is not None):
            self.input.hint, self.input.disabled = hint, reason is not None


def field_form(
    server: viser.ViserServer,
    model: PanelModel,
    label: str,
    keys: list[tuple[str, str]],
    hints: dict[str, str],
    order: float,
    expand: bool = True,
) -> tuple[viser.GuiFormHandle, list[Field]]:
    """A form holding one :class:`Field` per ``(key, label)`` and an Apply button; Enter or Apply commits every
    changed field."""
    with server.gui.add_form(label, order=order, expand_by_default=expand) as form:
        fields = [Field(server, model, key, text, hints.get(key)) for key, text in keys]
        apply = server.gui.add_button("Apply", hint=f"apply the edits of {label}")
    apply.on_click(lambda _: form.submit())

    @form.on_submit
    def _(_event) -> None:
        for field in fields:
            field.commit()

    return form, fields
