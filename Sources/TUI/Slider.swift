import Foundation

/// A labelled numeric slider: ←/→ step, PgUp/PgDn ten steps, Home/End the ends; a click or drag on
/// the track sets the value. `onChange` fires on every change, so callers can react live.
public final class Slider: View {
    public var label: String
    public private(set) var value: Double
    public var range: ClosedRange<Double>
    public var step: Double
    /// Formats the value shown after the track.
    public var format: (Double) -> String
    public var onChange: ((Double) -> Void)?
    /// Where the track sits in local coordinates during the last frame (for the mouse).
    private var track = (start: 0, length: 0)

    public init(_ label: String, value: Double, range: ClosedRange<Double>, step: Double,
                format: @escaping (Double) -> String = { String(format: "%.2f", $0) }) {
        self.label = label
        self.range = range
        self.step = step > 0 ? step : (range.upperBound - range.lowerBound) / 100
        self.format = format
        self.value = range.lowerBound
        self.value = snapped(value)
    }

    public var acceptsFocus: Bool { true }
    public var keyHints: [KeyHint] { [KeyHint("←→", "adjust"), KeyHint("PgUp/PgDn", "×10"), KeyHint("Home/End", "min/max")] }

    /// Sets the value (clamped to the range, rounded to the step); calls `onChange` if it changed.
    public func set(_ newValue: Double) {
        let v = snapped(newValue)
        guard v != value else { return }
        value = v
        onChange?(v)
    }

    private func snapped(_ v: Double) -> Double {
        guard v.isFinite else { return value }
        let clamped = min(range.upperBound, max(range.lowerBound, v))
        let steps = ((clamped - range.lowerBound) / step).rounded()
        // Round away binary noise so 0.1 steps print and compare as 0.7, not 0.7000000000000001.
        let snapped = min(range.upperBound, range.lowerBound + steps * step)
        return (snapped * 1e9).rounded() / 1e9
    }

    public func handle(_ event: InputEvent) -> EventResult {
        switch event {
        case .key(let k) where k.modifiers.isEmpty:
            switch k.key {
            case .left, .character("-"), .character("h"): set(value - step)
            case .right, .character("+"), .character("="), .character("l"): set(value + step)
            case .pageDown: set(value - 10 * step)
            case .pageUp: set(value + 10 * step)
            case .home: set(range.lowerBound)
            case .end: set(range.upperBound)
            default: return .ignored
            }
            return .handled
        case .mouse(let m) where (m.kind == .press || m.kind == .drag) && m.button == .left:
            guard track.length > 1 else { return .ignored }
            let t = Double(min(max(m.point.x - track.start, 0), track.length - 1)) / Double(track.length - 1)
            set(range.lowerBound + t * (range.upperBound - range.lowerBound))
            return .handled
        case .mouse(let m) where m.button == .wheelUp || m.button == .wheelDown:
            set(value + (m.button == .wheelUp ? step : -step))
            return .handled
        default:
            return .ignored
        }
    }

    public func render(_ canvas: Canvas, _ context: RenderContext) {
        let focused = context.isFocused(self)
        let base = Style(.text, on: .surface)
        canvas.fill(style: base)
        guard canvas.width > 0, canvas.height > 0 else { return }
        let valueText = format(value)
        let labelWidth = min(DisplayWidth.of(label) + 1, canvas.width / 3)
        let valueWidth = DisplayWidth.of(valueText) + 1
        canvas.write(label, x: 0, y: 0, width: labelWidth, style: focused ? base.fg(.accent).with(.bold) : base)
        let start = labelWidth
        let length = max(0, canvas.width - labelWidth - valueWidth)
        track = (start, length)
        if length > 1 {
            let span = range.upperBound - range.lowerBound
            let t = span > 0 ? (value - range.lowerBound) / span : 0
            let knob = Int((t * Double(length - 1)).rounded())
            for i in 0..<length {
                let (ch, role): (Character, StyleRole) = i < knob ? ("━", focused ? .accent : .text) : (i == knob ? ("●", focused ? .accent : .text) : ("─", .border))
                canvas.put(ch, x: start + i, y: 0, style: Style(role, on: .surface, i == knob && focused ? [.bold] : []))
            }
        }
        canvas.write(valueText, x: canvas.width - valueWidth + 1, y: 0, style: focused ? base.with(.bold) : base)
    }
}
