"""The panel's setup sections in omni.ui, as the browser panel lays them out (``web/spec_sections.py``): scene and
spec, environments, actions and observations, PPO, and the reward, termination and event tables. Values are typed
as inline TOML; a section's Apply hands every changed field to the panel model, which validates it and keeps the
error next to the key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import omni.ui as ui

from ...specs.key_docs import spec_key_docs
from ...terms import REGISTRIES
from ..panel import PanelModel
from ..panel_layout import ACTION_KEYS, ENV_KEYS, PPO_KEYS, from_toml, to_toml

TERM_TITLES = {"rewards": "Rewards", "terminations": "Terminations", "events": "Events"}
ERROR_STYLE = {"color": 0xFF4040FF}
LABEL_WIDTH = 150
MISSING = object()


def current(model: PanelModel, key: str) -> Any:
    """The dotted ``key``'s value as edited, else the resolved spec's default, else MISSING."""
    for table in (model.raw, None):
        try:
            node = table if table is not None else model.spec().raw
        except Exception:  # an invalid spec has no resolved defaults to show
            return MISSING
        for part in key.split("."):
            node = node.get(part, MISSING) if isinstance(node, dict) else MISSING
        if node is not MISSING:
            return node
    return MISSING


class FieldRow:
    """One spec key: a label (its documentation as tooltip), a text field and the model's error for the key."""

    def __init__(self, model: PanelModel, key: str, label: str, hint: str | None):
        self.model, self.key = model, key
        with ui.HStack(height=0):
            ui.Label(label, width=LABEL_WIDTH, tooltip=hint or key)
            self.field = ui.StringField()
        self.error = ui.Label("", word_wrap=True, style=ERROR_STYLE, visible=False)
        self.refresh()

    def commit(self) -> None:
        value = from_toml(self.field.model.get_value_as_string())
        if value != current(self.model, self.key) or self.key in self.model.field_errors:
            self.model.set_field(self.key, value)

    def refresh(self) -> None:
        """The model's value (unless an error keeps the user's text) and the key's error."""
        error = self.model.field_errors.get(self.key)
        value = current(self.model, self.key)
        if error is None and value is not MISSING:
            self.field.model.set_value(to_toml(value))
        self.error.text, self.error.visible = f"error: {error}" if error else "", error is not None


class SpecSections:
    """Builds the setup sections inside the window's stack; :meth:`refresh` shows the model's values."""

    def __init__(
        self,
        model: PanelModel,
        open_spec: Callable[[str], None],
        use_open_stage: Callable[[], None],
        clone: Callable[[], None],
    ):
        self.model, self.open_spec, self.use_open_stage, self.clone = model, open_spec, use_open_stage, clone
        self.hints = {doc.key: f"{doc.key}: {doc.doc}" for doc in spec_key_docs()}
        self.rows: list[FieldRow] = []

    def build(self) -> None:
        """(Re)build every setup section from the model's spec (called by the window's build function)."""
        model, self.rows = self.model, []
        with ui.CollapsableFrame("Scene and spec"), ui.VStack(spacing=4, height=0):
            specs = model.spec_files()
            chosen = str(model.spec_file.stem) if model.spec_file else ""
            self.spec_pick = ui.ComboBox(specs.index(chosen) if chosen in specs else 0, *specs)
            ui.Button("Open spec", clicked_fn=lambda: self.open_spec(specs[self._picked(self.spec_pick)]))
            with ui.HStack(height=0):
                self.scene_path = ui.StringField()
                ui.Button("Use scene", width=90, clicked_fn=lambda: model.open_scene(self._text(self.scene_path)))
            with ui.HStack(height=0):
                ui.Button("Use the open stage", clicked_fn=self.use_open_stage)
                ui.Button("Clone", clicked_fn=self.clone, tooltip="clone the spec's env count onto the stage")
            self.scene_error = ui.Label("", word_wrap=True, style=ERROR_STYLE)
            self.summary = ui.Label("", word_wrap=True)
            with ui.HStack(height=0):
                self.save_path = ui.StringField()
                self.save_path.model.set_value("my_task.toml")
                ui.Button("Save spec", width=90, clicked_fn=lambda: model.save_spec(self._text(self.save_path)))
            self.save_question = ui.Label("", word_wrap=True, visible=False)
            with ui.HStack(height=0):
                self.overwrite_button = ui.Button("Overwrite", visible=False, clicked_fn=self._overwrite)
                self.keep_button = ui.Button("Keep the file", visible=False, clicked_fn=model.cancel_save)
        self.refresh_save()
        if model.spec_file is None:
            return
        groups = sorted(model.raw.get("observations", {}))
        obs_keys = [(f"observations.{group}.terms", f"{group} observations") for group in groups]
        for title, keys in (("Environments", ENV_KEYS), ("Actions and observations", ACTION_KEYS + obs_keys)):
            self._form(title, keys)
        for kind, title in TERM_TITLES.items():
            self._terms(kind, title)
        self._form("PPO", PPO_KEYS)

    def _form(self, title: str, keys: list[tuple[str, str]], collapsed: bool = False) -> list[FieldRow]:
        with ui.CollapsableFrame(title, collapsed=collapsed), ui.VStack(spacing=2, height=0):
            rows = [FieldRow(self.model, key, label, self.hints.get(key)) for key, label in keys]
            ui.Button("Apply", clicked_fn=lambda: [row.commit() for row in rows])
        self.rows += rows
        return rows

    def _terms(self, kind: str, title: str) -> None:
        """A row per term (enabled, its function, weight and params, Apply, Remove) and a form to add one."""
        model = self.model
        with ui.CollapsableFrame(title, collapsed=kind != "rewards"), ui.VStack(spacing=2, height=0):
            for name in [*model.raw.get(kind, {}), *model.disabled[kind]]:
                enabled = name not in model.disabled[kind]
                table = model.raw.get(kind, {}).get(name) or model.disabled[kind][name]
                with ui.HStack(height=0):
                    box = ui.CheckBox(width=20)
                    box.model.set_value(enabled)
                    box.model.add_value_changed_fn(lambda m, k=kind, n=name: model.enable_term(k, n, m.as_bool))
                    ui.Label(f"{name}: {table.get('func', name)}" + ("" if enabled else " (off)"))
                    ui.Button("Remove", width=70, clicked_fn=lambda k=kind, n=name: model.remove_term(k, n))
                if enabled:
                    keys = [f"{kind}.{name}.weight"] if kind == "rewards" else []
                    rows = [FieldRow(model, k, k.rsplit(".", 1)[1], self.hints.get(k)) for k in keys]
                    rows.append(FieldRow(model, f"{kind}.{name}.params", "params", None))
                    ui.Button(f"Apply {name}", clicked_fn=lambda rows=rows: [row.commit() for row in rows])
                    self.rows += rows
            library = sorted(REGISTRIES[kind])
            pick = ui.ComboBox(0, *library)
            with ui.HStack(height=0):
                name_field, params = ui.StringField(), ui.StringField()
                params.model.set_value("{ }")
                ui.Button(
                    f"Add {kind[:-1]} term", clicked_fn=lambda: self._add(kind, library, pick, name_field, params)
                )

    def _add(self, kind: str, library: list[str], pick, name_field, params) -> None:
        func = library[self._picked(pick)]
        table = {"func": func, "params": from_toml(self._text(params)) or {}}
        if kind == "rewards":
            table["weight"] = 1.0
        if kind == "events":
            table["mode"] = "reset"
        self.model.add_term(kind, self._text(name_field) or func, table)

    def _overwrite(self) -> None:
        """Save over the file the model asked about (the one shown, whatever the field holds now)."""
        target = self.model.save_conflict
        if target is not None:
            self.model.save_spec(target, overwrite=True)

    def refresh_save(self) -> None:
        """Show or hide the question "overwrite the existing file?" (:attr:`PanelModel.save_conflict`)."""
        target = self.model.save_conflict
        self.save_question.text = f"{target} already exists." if target is not None else ""
        self.overwrite_button.text = f"Overwrite {target.name}" if target is not None else "Overwrite"
        for widget in (self.save_question, self.overwrite_button, self.keep_button):
            widget.visible = target is not None

    @staticmethod
    def _picked(combo) -> int:
        return combo.model.get_item_value_model().as_int

    @staticmethod
    def _text(field) -> str:
        return field.model.get_value_as_string().strip()

    def refresh(self) -> None:
        """Show the model's scene summary, scene error and every field's value and error."""
        error = self.model.field_errors.get("scene")
        self.scene_error.text = f"error: {error}" if error else ""
        self.summary.text = self.model.scene_summary or "no scene"
        for row in self.rows:
            row.refresh()
