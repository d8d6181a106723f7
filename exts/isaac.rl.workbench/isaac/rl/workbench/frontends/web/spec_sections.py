"""The browser panel's setup sections: scene and spec, environments, actions and observations, rewards,
terminations and events, PPO settings. Every edit goes through the panel model, which validates it."""

from __future__ import annotations

import inspect
from pathlib import Path

import viser

from ...specs.key_docs import spec_key_docs
from ...terms import REGISTRIES
from ..panel import PanelModel
from ..panel_layout import ACTION_KEYS, ENV_KEYS, PPO_KEYS, command_keys, from_toml, to_toml
from ..panel_state import scene_choice, spec_choice
from .fields import Field, field_form

TERM_ORDER = {"rewards": 40.0, "terminations": 50.0, "events": 55.0}


def key_hints() -> dict[str, str]:
    """Tooltip per spec key: its documentation and default."""
    return {doc.key: f"{doc.key}: {doc.doc}" for doc in spec_key_docs()}


class SpecSections:
    """Builds the setup sections and keeps them showing the model's spec."""

    def __init__(self, server: viser.ViserServer, model: PanelModel):
        self.server, self.model = server, model
        self.hints = key_hints()
        self.fields: list[Field] = []
        self._term_folders: dict[str, viser.GuiFolderHandle] = {}
        self._switches: list[tuple[str, str, viser.GuiCheckboxHandle]] = []  # (kind, name, "enabled") per term row
        self._term_layout: dict[str, tuple] = {}
        self._build_scene_and_spec()
        self._forms: list = []
        self._build_forms()
        for kind in TERM_ORDER:
            self._build_terms(kind)

    # -- scene and spec -------------------------------------------------------------------------------------------
    def _build_scene_and_spec(self) -> None:
        gui, model = self.server.gui, self.model
        with gui.add_folder("Scene and spec", order=10.0):
            specs = model.spec_files() or ["(none)"]
            self.spec_pick = gui.add_dropdown("spec", specs, initial_value=specs[0], hint="a task or a spec file")
            open_spec = gui.add_button("Open spec", hint="load the chosen spec for editing")
            scenes = [str(p) for p in model.scene_files()] or ["(none)"]
            self.scene_pick = gui.add_dropdown(
                "scene", scenes, initial_value=scenes[0], hint="USD files in the allowed folders"
            )
            open_scene = gui.add_button("Use scene", hint="make the chosen USD file the spec's scene")
            self.scene_error = gui.add_markdown("", visible=False)
            self.summary = gui.add_markdown("")
            self.save_path = gui.add_text("save as", "my_task.toml", hint="a path in the allowed folders")
            self.save_button = gui.add_button("Save spec", hint="write the edited spec as TOML (asks before replacing)")
            self.save_question = gui.add_markdown("", visible=False)
            self.overwrite_button = gui.add_button(
                "Overwrite", color="red", visible=False, hint="replace the existing file with the edited spec"
            )
            self.keep_button = gui.add_button("Keep the file", visible=False, hint="save nothing; the file stays")
            self.command = gui.add_markdown("")
        open_spec.on_click(lambda _: model.open_spec(self.spec_pick.value))
        open_scene.on_click(lambda _: model.open_scene(self.scene_pick.value))
        self.save_button.on_click(lambda _: self._save(self.save_path.value))
        self.overwrite_button.on_click(lambda _: self._overwrite())
        self.keep_button.on_click(lambda _: model.cancel_save())
        self.save_path.on_update(lambda event: event.client and model.cancel_save())

    def _show_open_spec(self) -> None:
        """Pick the open spec and its scene in the pickers (after Open spec, Use scene, or a spec given at start)."""
        for pick, chosen in ((self.spec_pick, spec_choice(self.model)), (self.scene_pick, scene_choice(self.model))):
            if chosen is None:
                continue
            if chosen not in pick.options:
                pick.options = [chosen, *[o for o in pick.options if o != "(none)"]]
            if pick.value != chosen:
                pick.value = chosen

    def _save(self, path: str | Path, overwrite: bool = False) -> None:
        saved = self.model.save_spec(path, overwrite=overwrite)
        if saved is not None:
            self.command.content = f"Repeat the run with:\n```\n{self.model.command_line(saved)}\n```"

    def _overwrite(self) -> None:
        """Save over the file the model asked about (the one shown, whatever "save as" holds now)."""
        target = self.model.save_conflict
        if target is not None:
            self._save(target, overwrite=True)

    def refresh_save(self) -> None:
        """Show or hide the question "overwrite the existing file?" (:attr:`PanelModel.save_conflict`)."""
        target = self.model.save_conflict
        self.save_question.content = f"`{target}` already exists." if target is not None else ""
        self.overwrite_button.label = f"Overwrite {target.name}" if target is not None else "Overwrite"
        for widget in (self.save_question, self.overwrite_button, self.keep_button):
            widget.visible = target is not None

    # -- forms ----------------------------------------------------------------------------------------------------
    def _build_forms(self) -> None:
        for form, _ in self._forms:
            form.remove()
        self._forms, self.fields = [], []
        if self.model.spec_file is None:
            return
        groups = sorted(self.model.raw.get("observations", {}))
        obs_keys = [(f"observations.{group}.terms", f"{group} observations") for group in groups]
        for label, keys, order, expand in (
            ("Environments", ENV_KEYS, 20.0, True),
            ("Actions and observations", ACTION_KEYS + obs_keys, 30.0, False),
            ("Commands", command_keys(self.model.raw), 35.0, False),
            ("PPO", PPO_KEYS, 60.0, False),
        ):
            if not keys:
                continue
            form, fields = field_form(self.server, self.model, label, keys, self.hints, order, expand)
            self._forms.append((form, fields))
            self.fields += fields

    def show_liveness(self) -> None:
        """A run started or ended: grey out the fields and term switches that cannot change while it trains, with
        the reason as hint (:meth:`.fields.Field.show_liveness`, :meth:`~..panel.PanelModel.term_refusal`)."""
        for field in self.fields:
            field.show_liveness()
        for kind, name, switch in self._switches:
            self._show_switch(kind, name, switch)

    def _show_switch(self, kind: str, name: str, switch: viser.GuiCheckboxHandle) -> None:
        reason = self.model.term_refusal(kind, name, switching=True)
        hint = reason or f"switch {kind}.{name} off or on"
        if switch.hint != hint or switch.disabled != (reason is not None):
            switch.hint, switch.disabled = hint, reason is not None

    # -- term tables ----------------------------------------------------------------------------------------------
    def _layout(self, kind: str) -> tuple:
        return (tuple(self.model.raw.get(kind, {})), tuple(self.model.disabled[kind]))

    def _build_terms(self, kind: str) -> None:
        """(Re)build a term table: a row per term (enabled, weight, params, Apply, Remove) and an add form."""
        if kind in self._term_folders:
            self._term_folders[kind].remove()
        self.fields = [f for f in self.fields if not f.key.startswith(f"{kind}.")]
        self._switches = [s for s in self._switches if s[0] != kind]
        self._term_layout[kind] = self._layout(kind)
        gui, model = self.server.gui, self.model
        title = {"rewards": "Rewards", "terminations": "Terminations", "events": "Events"}[kind]
        with gui.add_folder(title, order=TERM_ORDER[kind], expand_by_default=kind == "rewards") as folder:
            self._term_folders[kind] = folder
            names = [*model.raw.get(kind, {}), *model.disabled[kind]]
            for name in names:
                self._term_row(kind, name)
            self._add_term_form(kind)

    def _term_row(self, kind: str, name: str) -> None:
        gui, model = self.server.gui, self.model
        enabled = name not in model.disabled[kind]
        table = model.raw.get(kind, {}).get(name) or model.disabled[kind][name]
        func = str(table.get("func", name))
        with gui.add_form(name, expand_by_default=True) as form:
            gui.add_markdown(f"`{func}`" + ("" if enabled else " (off)"))
            on = gui.add_checkbox("enabled", enabled, hint=f"switch {kind}.{name} off or on")
            keys = ([(f"{kind}.{name}.weight", "weight")] if kind == "rewards" else []) + [
                (f"{kind}.{name}.params", "params")
            ]
            fields = (
                [Field(self.server, model, key, label, self.hints.get(key)) for key, label in keys] if enabled else []
            )
            row = gui.add_button_group("", ("Apply", "Remove"))
        self.fields += fields
        self._switches.append((kind, name, on))
        self._show_switch(kind, name, on)
        on.on_update(lambda event: event.client and model.enable_term(kind, name, on.value))

        @form.on_submit
        def _(_event) -> None:
            for field in fields:
                field.commit()

        def clicked(event) -> None:
            if row.value == "Remove":
                model.remove_term(kind, name)
            else:
                form.submit()

        row.on_click(clicked)

    def _add_term_form(self, kind: str) -> None:
        gui, model = self.server.gui, self.model
        library = sorted(REGISTRIES[kind])
        article = "an" if kind == "events" else "a"
        with gui.add_form(f"add {article} {kind[:-1]} term", expand_by_default=False) as form:
            func = gui.add_dropdown("function", library, initial_value=library[0])
            doc = gui.add_markdown(_doc(kind, library[0]))
            name = gui.add_text("name", library[0])
            weight = gui.add_text("weight", "1.0") if kind == "rewards" else None
            params = gui.add_text("params", "{ }", hint='inline TOML, e.g. { joints = ["hinge"] }')
            extra = gui.add_text("mode", "reset") if kind == "events" else None
            add = gui.add_button(f"Add {kind[:-1]} term")
            self.add_error = gui.add_markdown("", visible=False)

        def picked(_event) -> None:
            doc.content = _doc(kind, func.value)
            name.value = func.value

        func.on_update(picked)
        add.on_click(lambda _: form.submit())

        @form.on_submit
        def _(_event) -> None:
            table = {"func": func.value, "params": from_toml(params.value) or {}}
            if weight is not None:
                table["weight"] = from_toml(weight.value)
            if extra is not None:
                table["mode"] = extra.value
            ok = model.add_term(kind, name.value, table)
            error = model.field_errors.get(f"{kind}.{name.value}") or next(
                (v for k, v in model.field_errors.items() if k.startswith(f"{kind}.{name.value}")), ""
            )
            self.add_error.content = "" if ok else f"**error:** {error}"
            self.add_error.visible = not ok

    # -- refresh --------------------------------------------------------------------------------------------------
    def refresh(self, structure_changed: bool = False) -> None:
        """Show the model's spec: rebuild what changed shape, then update every field's value and error."""
        model = self.model
        self._show_open_spec()
        self.summary.content = f"```\n{model.scene_summary}\n```" if model.scene_summary else "*no scene*"
        scene_error = model.field_errors.get("scene")
        self.scene_error.content, self.scene_error.visible = f"**error:** {scene_error}", scene_error is not None
        if structure_changed or not self._forms:
            self._build_forms()
        for kind in TERM_ORDER:
            if structure_changed or self._layout(kind) != self._term_layout.get(kind):
                self._build_terms(kind)
        for field in self.fields:
            field.refresh()


def _doc(kind: str, name: str) -> str:
    """A library term's call (parameters with their defaults) and its docstring, as markdown."""
    func = REGISTRIES[kind][name]
    shown = []
    for p in inspect.signature(func).parameters.values():
        if p.name in ("env", "env_mask"):
            continue
        shown.append(p.name if p.default is inspect.Parameter.empty else f"{p.name}={to_toml(p.default)}")
    return f"**{name}**({', '.join(shown)})\n\n{inspect.getdoc(func) or ''}"
