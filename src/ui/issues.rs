//! The issues panel beside the batch table: issues grouped by rule with counts (like Open Data
//! Editor's error report), a bar chart of issues by rule, and a list per rule whose entries
//! jump to the cell.

use super::batch::{BatchView, shown, tint};
use crate::rules::Rule;
use crate::store::Store;
use crate::validate::Severity;

/// Issues listed per rule in the panel (the table's rejected-only view shows them all).
pub const LISTED_PER_RULE: u64 = 200;

impl BatchView {
    /// Draws the issues panel.
    pub fn issues_ui(&mut self, ui: &mut egui::Ui, store: &Store, chart: bool) {
        ui.heading("Issues");
        let total: u64 = self.by_rule.iter().map(|r| r.2).sum();
        ui.label(format!(
            "{} issue(s) under {} rule(s); {} rejected record(s).",
            total,
            self.by_rule.len(),
            self.info.rejected
        ));
        if self.by_rule.is_empty() {
            ui.add_space(8.0);
            ui.colored_label(
                egui::Color32::from_rgb(0, 140, 60),
                "No issues: this batch is clean.",
            );
            return;
        }
        if chart {
            chart_ui(ui, &self.by_rule);
        }
        ui.separator();
        let mut jump: Option<(u32, Option<usize>)> = None;
        let rules = self.by_rule.clone();
        egui::ScrollArea::vertical()
            .id_salt("issues-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for (rule, severity, count) in &rules {
                    let colour = match severity {
                        Severity::Error => ui.visuals().error_fg_color,
                        Severity::Warning => ui.visuals().warn_fg_color,
                    };
                    let title = egui::RichText::new(format!("{} ({rule}) — {count}", rule.title()))
                        .color(colour);
                    let r = egui::CollapsingHeader::new(title)
                        .id_salt(("rule", rule))
                        .show(ui, |ui| {
                            if !self.rule_issues.contains_key(rule) {
                                match store.issues(self.info.id, Some(*rule), LISTED_PER_RULE) {
                                    Ok(list) => {
                                        self.rule_issues.insert(*rule, list);
                                    }
                                    Err(e) => {
                                        ui.colored_label(
                                            ui.visuals().error_fg_color,
                                            e.to_string(),
                                        );
                                        return;
                                    }
                                }
                            }
                            let Some(list) = self.rule_issues.get(rule) else {
                                return;
                            };
                            for (seq, issue) in list {
                                let field = issue.field.as_deref().unwrap_or("record");
                                let text = format!(
                                    "Line {} · {field}: {}",
                                    issue.line,
                                    shown(&issue.message)
                                );
                                let b = ui.add(egui::Button::new(text).frame(false).truncate());
                                if b.clicked()
                                    && let Some(s) = seq
                                {
                                    jump = Some((*s, issue.field_index));
                                }
                                b.on_hover_text(shown(&issue.message));
                            }
                            if *count > list.len() as u64 {
                                ui.weak(format!(
                                    "{} more: tick \"Rejected rows only\" to see every row.",
                                    count - list.len() as u64
                                ));
                            }
                        });
                    r.header_response.on_hover_text(match severity {
                        Severity::Error => "Errors reject the record",
                        Severity::Warning => "Warnings do not reject the record",
                    });
                }
            });
        if let Some((seq, field)) = jump {
            self.jump(store, seq, field);
        }
    }
}

fn chart_ui(ui: &mut egui::Ui, by_rule: &[(Rule, Severity, u64)]) {
    let err = tint(ui, Severity::Error);
    let warn = tint(ui, Severity::Warning);
    let strong_err = ui.visuals().error_fg_color;
    let bars: Vec<egui_plot::Bar> = by_rule
        .iter()
        .enumerate()
        .map(|(i, (rule, sev, n))| {
            let fill = match sev {
                Severity::Error => strong_err.lerp_to_gamma(err, 0.3),
                Severity::Warning => warn.gamma_multiply(1.0),
            };
            egui_plot::Bar::new(i as f64, *n as f64)
                .name(rule.code())
                .fill(fill)
                .width(0.7)
        })
        .collect();
    let names: Vec<Rule> = by_rule.iter().map(|r| r.0).collect();
    egui_plot::Plot::new("issues-chart")
        .height(150.0)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .show_grid(false)
        .y_axis_label("issues")
        .x_axis_formatter(move |mark, _range| {
            let i = mark.value.round();
            if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                names
                    .get(i as usize)
                    .map_or_else(String::new, |n| short_rule(n))
            } else {
                String::new()
            }
        })
        .show(ui, |p| {
            p.bar_chart(egui_plot::BarChart::new("issues by rule", bars))
        });
}

fn short_rule(rule: &Rule) -> String {
    rule.code().trim_end_matches("-error").to_string()
}
