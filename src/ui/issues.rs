//! The issues panel beside the batch table: issues grouped by rule with counts (like Open Data
//! Editor's error report), a bar chart of issues by rule, and a list per rule whose entries
//! jump to the cell.

use super::app::{Command, Data, View};
use super::batch::{BatchView, shown};
use crate::rules::Rule;
use crate::store::Store;
use crate::validate::Severity;

/// Issues listed per rule in the panel (the table's rejected-only view shows them all).
pub const LISTED_PER_RULE: u64 = 200;

impl BatchView {
    /// Draws the issues panel.
    pub fn issues_ui(
        &mut self,
        ui: &mut egui::Ui,
        store: &Store,
        chart: bool,
        cmds: &mut Vec<Command>,
    ) {
        ui.heading("Issues");
        if self.info.file_errors > 0 {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!(
                    "{} problem(s) with the file as received block every export: put the file right, or open them below and accept them with a reason.",
                    self.info.file_errors
                ),
            );
        }
        self.references_ui(ui, cmds);
        self.hub_ui(ui, store, cmds);
        let total: u64 = self.by_rule.iter().map(|r| r.2).sum();
        ui.label(format!(
            "{} issue(s) under {} rule(s); {} rejected record(s).",
            total,
            self.by_rule.len(),
            self.info.rejected
        ));
        if self.rule_order.is_empty() {
            ui.add_space(8.0);
            ui.colored_label(
                egui::Color32::from_rgb(0, 140, 60),
                "No issues: this batch is clean.",
            );
            return;
        }
        let fixed = self
            .rule_order
            .iter()
            .any(|(r, _)| !self.by_rule.iter().any(|b| b.0 == *r));
        if fixed || !self.applied.is_empty() {
            // Fixed groups and applied fixes keep their places until the officer tidies.
            ui.horizontal_wrapped(|ui| {
                ui.weak(
                    "Fixed groups stay in their place, marked, so nothing moves under the pointer.",
                );
                if ui.small_button("Tidy the list").clicked() {
                    self.tidy_panel();
                }
            });
        }
        self.repairs_ui(ui, cmds);
        let counted: Vec<(Rule, Severity, u64)> = self
            .rule_order
            .iter()
            .map(|(r, sev)| {
                let n = self.by_rule.iter().find(|b| b.0 == *r).map_or(0, |b| b.2);
                (*r, *sev, n)
            })
            .collect();
        if chart {
            // A third of the panel at most (never under ~6 rows); more rules scroll inside.
            let h = (ui.available_height() * 0.33).clamp(6.0 * 18.0, 16.0 * 18.0);
            egui::ScrollArea::vertical()
                .id_salt("issues-chart")
                .max_height(h)
                .auto_shrink([false, true])
                .show(ui, |ui| chart_ui(ui, &counted));
        }
        ui.separator();
        let mut jump: Option<(u32, Option<usize>)> = None;
        let open_file_rules = self.file_state(cmds).map(|f| f.open_rules.clone());
        egui::ScrollArea::vertical()
            .id_salt("issues-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for (rule, severity, count) in &counted {
                    self.rule_group_ui(
                        ui,
                        *rule,
                        *severity,
                        *count,
                        open_file_rules.as_ref(),
                        &mut jump,
                        cmds,
                    );
                }
            });
        if let Some((seq, field)) = jump {
            self.jump(store, seq, field);
        }
    }

    /// One rule's group: its title and count, and, opened, its issues (read on the worker),
    /// the fixes offered and, for a problem with the file, its acceptance. What blocks the
    /// batch opens at once and its lines are shown in full.
    #[allow(clippy::too_many_arguments)]
    fn rule_group_ui(
        &mut self,
        ui: &mut egui::Ui,
        rule: Rule,
        severity: Severity,
        count: u64,
        open_file_rules: Option<&std::collections::HashSet<Rule>>,
        jump: &mut Option<(u32, Option<usize>)>,
        cmds: &mut Vec<Command>,
    ) {
        let colour = match severity {
            Severity::Error => ui.visuals().error_fg_color,
            Severity::Warning => ui.visuals().warn_fg_color,
        };
        let blocks = rule.blocks_batch(severity);
        let accepted = blocks && open_file_rules.is_some_and(|o| !o.contains(&rule));
        let title = if count == 0 {
            egui::RichText::new(format!("{} — fixed", rule.title())).weak()
        } else if accepted {
            egui::RichText::new(format!("{} — {count}, accepted", rule.title())).weak()
        } else if blocks {
            egui::RichText::new(format!("{} — {count}, blocks export", rule.title()))
                .color(colour)
                .strong()
        } else {
            egui::RichText::new(format!("{} — {count}", rule.title())).color(colour)
        };
        let r = egui::CollapsingHeader::new(title)
            .id_salt(("rule", rule))
            .default_open(blocks && count > 0)
            .show(ui, |ui| {
                if count == 0 {
                    ui.weak("Every issue of this rule is fixed.");
                    return;
                }
                let now = self.panel_gen;
                let kept = self.rule_issues.entry(rule).or_default();
                if kept.wants(now) {
                    // Read on the worker; the group fills in when it arrives, and keeps what
                    // it showed meanwhile.
                    cmds.push(Command::Data(Data::LoadRuleIssues(rule)));
                }
                let Some((list, fields)) = kept.get().cloned() else {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.weak("Reading the issues…");
                    });
                    return;
                };
                ui.weak(rule.description());
                if !(fields.len() == 1 && fields[0].0 == "record") {
                    let by: Vec<String> = fields.iter().map(|(f, n)| format!("{f} {n}")).collect();
                    ui.label(format!("By field: {}", by.join(" · ")));
                }
                if rule.scope() == crate::rules::Scope::Cell {
                    self.suggestions_ui(ui, rule, cmds);
                }
                for (seq, issue) in &list {
                    let field = issue.field.as_deref().unwrap_or("record");
                    let text = format!("Line {} · {field}: {}", issue.line, shown(&issue.message));
                    // What blocks the batch is read in full; the rest one line each.
                    let b = if blocks {
                        ui.add(egui::Button::new(text).frame(false).wrap())
                    } else {
                        ui.add(egui::Button::new(text).frame(false).truncate())
                    };
                    if b.clicked()
                        && let Some(s) = seq
                    {
                        // The keyboard goes to the table: Enter edits the cell.
                        b.surrender_focus();
                        *jump = Some((*s, issue.field_index));
                    }
                    b.on_hover_text(shown(&issue.message));
                }
                if count > list.len() as u64 {
                    ui.weak(format!(
                        "{} more: tick \"Rejected rows only\" to see every row.",
                        count - list.len() as u64
                    ));
                }
                if rule.export_removes() {
                    let lines: Vec<String> = list.iter().map(|(_, i)| i.line.to_string()).collect();
                    let b = ui
                        .add_enabled(
                            !accepted,
                            egui::Button::new(format!("Remove the {count} blank line(s)")),
                        )
                        .on_hover_text("The export leaves them out; the removal is kept in the batch's log with your name")
                        .on_disabled_hover_text("Removed: the export leaves them out");
                    if b.clicked() {
                        cmds.push(Command::Data(Data::Accept {
                            rule,
                            reason: format!(
                                "removed {count} blank line(s) ({}): the export leaves them out",
                                lines.join(", ")
                            ),
                        }));
                    }
                }
                // Blank lines are accepted by removing them (the button above says how).
                if blocks && !rule.export_removes() {
                    self.accept_ui(ui, rule, accepted, cmds);
                }
            });
        r.header_response
            .on_hover_text(match (severity, rule.is_file_level()) {
                (Severity::Error, true) => {
                    "A problem with the file as received: it blocks export until accepted"
                }
                (Severity::Error, false) => "Errors reject the record",
                (Severity::Warning, _) => "Warnings reject nothing",
            });
    }
}

impl BatchView {
    /// A value of the field named `name` as shown: masked while the batch's personal data is
    /// not revealed (whatever record type the field is in).
    fn shown_named(&self, name: &str, v: &str) -> String {
        let field = self
            .layout
            .records
            .iter()
            .flat_map(|r| r.fields.iter())
            .find(|f| f.name == name);
        match field.filter(|_| !self.revealed).and_then(|f| f.mask(v)) {
            Some(m) => m,
            None => shown(v).into_owned(),
        }
    }

    /// The repair step: every mechanical fix of the batch's errors, by field and kind, each
    /// shown as before → after with a count and applied as one undo step; and the cells no
    /// fix can mend, with the reason.
    fn repairs_ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        if self.repairs.wants(self.panel_gen) {
            cmds.push(Command::Data(Data::LoadRepairs));
        }
        let Some(Ok(r)) = self.repairs.get() else {
            return;
        };
        let r = r.clone();
        // Each group keeps the place it was first shown in; one applied stays there, applied.
        for g in &r.groups {
            let k = repair_key(g);
            if !self.repair_order.contains(&k) {
                self.repair_order.push(k);
            }
        }
        if self.repair_order.is_empty() && r.unmendable.is_empty() {
            return;
        }
        let cells: usize = r.groups.iter().map(|g| g.cells.len()).sum();
        let mut apply: Option<(String, Vec<crate::store::edit::Change>, String)> = None;
        egui::CollapsingHeader::new(format!(
            "Repairs: {} fix(es) for {cells} cell(s)",
            r.groups.len()
        ))
        .id_salt("repairs")
        .default_open(true)
        .show(ui, |ui| {
            ui.weak("Mechanical corrections of what a spreadsheet did to the values. Each is one step in the edit log; Undo reverses it.");
            let most = (ui.ctx().content_rect().height() * 0.3).max(120.0);
            egui::ScrollArea::vertical()
                .id_salt("repairs-list")
                .max_height(most)
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    for k in &self.repair_order {
                        let Some(g) = r.groups.iter().find(|g| repair_key(g) == *k) else {
                            let (field, kind) = k.split_once('\u{1}').unwrap_or((k, ""));
                            ui.horizontal_wrapped(|ui| {
                                ui.strong(field);
                                ui.weak(format!("— {kind}: applied"));
                            });
                            ui.add_enabled(false, egui::Button::new("Applied"));
                            ui.add_space(4.0);
                            continue;
                        };
                        ui.horizontal_wrapped(|ui| {
                            ui.strong(&g.field_name);
                            ui.label(format!("— {}: {} cell(s)", g.kind.title(), g.cells.len()));
                        });
                        let show = |v: &str| self.shown_named(&g.field_name, v);
                        for s in g.cells.iter().take(3) {
                            ui.weak(format!(
                                "  line {}: \"{}\" » \"{}\"",
                                s.line,
                                show(&s.was),
                                show(&s.fix.value)
                            ));
                        }
                        let done = self.applied.contains(k);
                        if ui
                            .add_enabled(
                                !done,
                                egui::Button::new(format!("Apply to {} cell(s)", g.cells.len())),
                            )
                            .on_hover_text("One change in the edit log; one Undo reverses it")
                            .clicked()
                        {
                            apply = Some((k.clone(), g.changes(), g.label()));
                        }
                        ui.add_space(4.0);
                    }
                    for u in &r.unmendable {
                        ui.colored_label(
                            ui.visuals().warn_fg_color,
                            format!(
                                "{}: {} cell(s) cannot be mended (first at line {}). {}.",
                                u.field_name, u.count, u.first_line, u.why
                            ),
                        );
                    }
                });
        });
        if let Some((key, changes, label)) = apply {
            self.applied.insert(key);
            cmds.push(Command::Data(Data::Edit { changes, label }));
        }
    }

    /// The suggested fixes of a rule's cells: by kind, with a preview, each kind one undo step.
    fn suggestions_ui(&mut self, ui: &mut egui::Ui, rule: Rule, cmds: &mut Vec<Command>) {
        let now = self.panel_gen;
        let kept = self.suggestions.entry(rule).or_default();
        if kept.wants(now) {
            cmds.push(Command::Data(Data::SuggestFixes(rule)));
        }
        let list = match kept.get() {
            None => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.weak("Looking for fixes…");
                });
                return;
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                return;
            }
            Some(Ok(l)) => l.clone(),
        };
        // The kinds offered, and those applied (kept in their place, applied).
        let mut kinds: Vec<crate::fixes::FixKind> = list
            .iter()
            .map(|s| s.fix.kind)
            .chain(
                self.applied_fixes
                    .iter()
                    .filter(|(r, _)| *r == rule)
                    .map(|(_, k)| *k),
            )
            .collect();
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            let these: Vec<&crate::store::search::Suggestion> =
                list.iter().filter(|s| s.fix.kind == kind).collect();
            let done = self.applied_fixes.contains(&(rule, kind));
            if these.is_empty() {
                ui.weak(format!(
                    "Suggested fix: {} — applied",
                    kind.title().to_lowercase()
                ));
                continue;
            }
            egui::CollapsingHeader::new(format!(
                "Suggested fix: {} ({} cell(s))",
                kind.title().to_lowercase(),
                these.len()
            ))
            .id_salt(("fix", rule, kind))
            .show(ui, |ui| {
                for s in these.iter().take(12) {
                    ui.label(format!(
                        "Line {} · {}: \"{}\" » \"{}\"",
                        s.line,
                        s.field_name,
                        self.shown_named(&s.field_name, &s.was),
                        self.shown_named(&s.field_name, &s.fix.value)
                    ));
                }
                if these.len() > 12 {
                    ui.weak(format!("and {} more", these.len() - 12));
                }
                if ui
                    .add_enabled(
                        !done,
                        egui::Button::new(format!("Apply to these {} cell(s)", these.len())),
                    )
                    .on_hover_text("One change in the log; one Undo reverses it")
                    .clicked()
                {
                    self.applied_fixes.insert((rule, kind));
                    cmds.push(Command::Data(Data::Edit {
                        changes: these.iter().map(|s| s.change()).collect(),
                        label: format!(
                            "Suggested fix \"{}\" on {} cell(s)",
                            kind.title().to_lowercase(),
                            these.len()
                        ),
                    }));
                }
            });
        }
    }

    /// What the hub and ESR said of the batch: a gap or repeat in its numbered series, ESR's
    /// answer row by row with "Re-send rejected rows", the batch it re-sends or answers, its
    /// delivery to the hub.
    fn hub_ui(&mut self, ui: &mut egui::Ui, store: &Store, cmds: &mut Vec<Command>) {
        if self.file_state(cmds).is_none() {
            return;
        }
        // Borrowed, never copied: a batch ESR answered may have many rows.
        let Some(state) = self.file_state.get() else {
            return;
        };
        let h = &state.hub;
        let warn = ui.visuals().warn_fg_color;
        let error = ui.visuals().error_fg_color;
        if let Some(f) = &h.sequence {
            ui.colored_label(warn, format!("Sequence: {f}."));
        }
        if let Some((vpd, name, step, err)) = &h.push {
            match (step.as_str(), err) {
                ("done", _) => ui.label(format!("Delivered to the hub of {vpd} as {name}.")),
                (_, Some(e)) => ui.colored_label(
                    error,
                    format!("Delivery to the hub of {vpd} stopped after '{step}': {e}. It carries on from there when sent again; nothing is sent twice."),
                ),
                _ => ui.label(format!("Delivery to the hub of {vpd} under way (after '{step}').")),
            };
        }
        // Deliver a clean batch to a hub (never twice: the push carries on where it stopped).
        let delivered = h.push.as_ref().is_some_and(|p| p.2 == "done");
        let is_answer = self.layout.answer.is_some();
        if !delivered && !is_answer && !h.hubs.is_empty() {
            ui.horizontal_wrapped(|ui| {
                let ready = self.info.rejected == 0 && self.info.file_errors == 0;
                for vpd in &h.hubs {
                    let b = ui
                        .add_enabled(ready, egui::Button::new(format!("Deliver to the hub of {vpd}")))
                        .on_hover_text("Exports the batch for that organisation and uploads it to the hub's In folder, under a temporary name then renamed; it is never sent twice")
                        .on_disabled_hover_text("Only a clean batch can be delivered: fix or exclude its rejected rows first");
                    if b.clicked() {
                        cmds.push(Command::Data(Data::Push(vpd.clone())));
                    }
                }
            });
        }
        if let Some(a) = &h.answers
            && let Some(b) = a.answered_batch
        {
            ui.horizontal_wrapped(|ui| {
                ui.label(format!(
                    "ESR's answer to batch {b} ({}): {} accepted, {} with warnings, {} rejected.",
                    a.matched_by, a.accepted, a.warnings, a.rejected
                ));
                if ui.link(format!("Open batch {b}")).clicked() {
                    cmds.push(Command::View(View::OpenBatch(b)));
                }
            });
        }
        if let Some(of) = h.resend_of {
            ui.horizontal_wrapped(|ui| {
                ui.label(format!(
                    "This batch re-sends the rows ESR rejected in batch {of}."
                ));
                if ui.link(format!("Open batch {of}")).clicked() {
                    cmds.push(Command::View(View::OpenBatch(of)));
                }
            });
        }
        let Some(a) = &h.answer else {
            return;
        };
        ui.separator();
        ui.strong("ESR's answer");
        ui.label(format!(
            "{} accepted, {} with warnings, {} rejected (answer batch {}, matched {}).",
            a.accepted, a.warnings, a.rejected, a.answer_batch, a.matched_by
        ));
        let mut jump = None;
        let listed: Vec<_> = h
            .rows
            .values()
            .take(LISTED_PER_RULE as usize)
            .cloned()
            .collect();
        if !listed.is_empty() {
            egui::ScrollArea::vertical()
                .id_salt("esr-answer-rows")
                .max_height(140.0)
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    for r in &listed {
                        let colour = if r.status == crate::layout::RowStatus::Rejected {
                            error
                        } else {
                            warn
                        };
                        let text = format!(
                            "Line {} {}: {}",
                            r.line,
                            r.status.as_str(),
                            r.message.as_deref().map(shown).unwrap_or_default()
                        );
                        if ui
                            .add(
                                egui::Label::new(egui::RichText::new(text).color(colour))
                                    .sense(egui::Sense::click()),
                            )
                            .on_hover_text("Go to this row")
                            .clicked()
                        {
                            jump = Some(r.seq);
                        }
                    }
                });
        }
        if a.rejected > 0 {
            match h.resend {
                Some(r) => {
                    if ui
                        .button(format!("Open the re-send (batch {r})"))
                        .on_hover_text("The batch made of the rows ESR rejected")
                        .clicked()
                    {
                        cmds.push(Command::View(View::OpenBatch(r)));
                    }
                }
                None => {
                    if ui
                        .button(format!("Re-send {} rejected rows…", a.rejected))
                        .on_hover_text("Makes a new batch of only the rows ESR rejected, as they stand now, to fix and then export or deliver to the hub")
                        .clicked()
                    {
                        cmds.push(Command::Data(Data::Resend));
                    }
                }
            }
        }
        if let Some(seq) = jump {
            self.jump(store, seq, None);
        }
        ui.separator();
    }

    /// The panel's view of the file as a whole: read on the worker once after each change
    /// (None until it arrives).
    fn file_state(&mut self, cmds: &mut Vec<Command>) -> Option<&super::batch::FileState> {
        if self.file_state.wants(self.panel_gen) {
            cmds.push(Command::Data(Data::LoadFileState));
        }
        self.file_state.get()
    }

    /// Accepting a file-level problem: a reason box and its button, or, once accepted, who
    /// accepted it, when and why in the same places, so nothing below moves.
    fn accept_ui(
        &mut self,
        ui: &mut egui::Ui,
        rule: Rule,
        accepted: bool,
        cmds: &mut Vec<Command>,
    ) {
        let Some(state) = self.file_state(cmds) else {
            return;
        };
        let done = state.acceptances.iter().find(|a| a.rule == rule).cloned();
        ui.separator();
        let what = rule.description();
        let mut what_c = what.chars();
        ui.label(match what_c.next() {
            Some(first) => format!("{}{}.", first.to_uppercase(), what_c.as_str()),
            None => String::new(),
        });
        let label = ui.label("Reason for accepting:");
        match (&done, accepted) {
            (Some(a), _) => {
                let mut shown = a.reason.clone();
                ui.add_enabled(
                    false,
                    egui::TextEdit::singleline(&mut shown).desired_width(f32::INFINITY),
                )
                .labelled_by(label.id);
                ui.add_enabled(
                    false,
                    egui::Button::new(format!(
                        "Accepted by {} on {}",
                        a.who,
                        a.at.get(..10).unwrap_or(&a.at)
                    )),
                );
            }
            (None, true) => {
                // Accepted a moment ago: its record is on its way.
                let mut shown = self.accept_reasons.get(&rule).cloned().unwrap_or_default();
                ui.add_enabled(
                    false,
                    egui::TextEdit::singleline(&mut shown).desired_width(f32::INFINITY),
                )
                .labelled_by(label.id);
                ui.add_enabled(false, egui::Button::new("Accepted"));
            }
            (None, false) => {
                let reason = self.accept_reasons.entry(rule).or_default();
                ui.add(
                    egui::TextEdit::singleline(reason)
                        .hint_text("e.g. the trailer said 240, the file holds 229; the missing records are intended")
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(label.id);
                let ok = !reason.trim().is_empty();
                if ui
                    .add_enabled(ok, egui::Button::new("Accept with this reason"))
                    .on_disabled_hover_text("Say why first: the reason is kept in the batch's log")
                    .clicked()
                {
                    cmds.push(Command::Data(Data::Accept {
                        rule,
                        reason: reason.trim().to_string(),
                    }));
                }
            }
        }
        ui.separator();
    }

    /// What the reference rules were checked against, and a choice to check them again.
    fn references_ui(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        let mut wanted: Vec<String> = crate::validate::reference_rules(&self.layout)
            .into_iter()
            .map(|r| r.interface)
            .collect();
        wanted.sort();
        wanted.dedup();
        for iface in wanted {
            ui.horizontal_wrapped(|ui| {
                match &self.info.reference {
                    Some(r) => ui.label(format!("References checked against {r}.")),
                    None => ui.colored_label(
                        ui.visuals().warn_fg_color,
                        format!("References to {iface} were not checked."),
                    ),
                };
                let batches = self
                    .file_state(cmds)
                    .and_then(|f| f.reference_batches.get(&iface).cloned())
                    .unwrap_or_default();
                let choice = self.reference_pick.entry(iface.clone()).or_default();
                egui::ComboBox::new(("reference", &iface), format!("{iface} batch"))
                    .selected_text(match choice {
                        Some(b) => format!("batch {b}"),
                        None => "choose a batch".into(),
                    })
                    .show_ui(ui, |ui| {
                        ui.selectable_value(choice, None, "(none: leave unchecked)");
                        for (id, label) in &batches {
                            ui.selectable_value(choice, Some(*id), label);
                        }
                    });
                if ui.button("Check against it").clicked() {
                    cmds.push(Command::Data(Data::Recheck {
                        interface: iface.clone(),
                        against: *choice,
                    }));
                }
            });
        }
    }
}

/// A repair group's place in the panel: its field and kind, in words.
fn repair_key(g: &crate::store::search::RepairGroup) -> String {
    format!("{}\u{1}{}", g.field_name, g.kind.title())
}

/// Issues by rule as labelled bars, one row a rule in the groups' order: every bar names its
/// rule and count, and long titles are cut short rather than overflowing.
fn chart_ui(ui: &mut egui::Ui, by_rule: &[(Rule, Severity, u64)]) {
    let max = by_rule.iter().map(|r| r.2).max().unwrap_or(1).max(1) as f32;
    let err = ui.visuals().error_fg_color;
    let warn = ui.visuals().warn_fg_color;
    let width = ui.available_width();
    let label_w = (width * 0.5).min(190.0);
    let bar_w = (width - label_w - 48.0).max(20.0);
    for (rule, sev, n) in by_rule {
        ui.horizontal(|ui| {
            ui.allocate_ui_with_layout(
                egui::vec2(label_w, 16.0),
                egui::Layout::left_to_right(egui::Align::Center),
                |ui| {
                    ui.set_min_width(label_w);
                    ui.add(egui::Label::new(rule.title()).truncate())
                        .on_hover_text(rule.description());
                },
            );
            let (rect, _) = ui.allocate_exact_size(egui::vec2(bar_w, 12.0), egui::Sense::hover());
            let w = (bar_w * (*n as f32 / max)).max(2.0);
            let fill = match sev {
                Severity::Error => err,
                Severity::Warning => warn,
            };
            ui.painter().rect_filled(
                egui::Rect::from_min_size(rect.min, egui::vec2(w, rect.height())),
                2.0,
                fill.gamma_multiply(0.8),
            );
            ui.label(n.to_string());
        });
    }
}
