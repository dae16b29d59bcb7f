/// k-shot prompts in the format lm-evaluation-harness scores MMLU (`mmlu` default template) and
/// C-Eval (`ceval-valid`) with:
///
/// ```
/// {description}{shot 1}\n\n{shot 2}\n\n…{question}
/// description (mmlu):  "The following are multiple choice questions (with answers) about {subject}.\n\n"
/// description (ceval): "以下是中国关于{科目}的单项选择题，请选出其中的正确答案。\n\n"
/// question:            "{question.strip()}\nA. {A}\nB. {B}\nC. {C}\nD. {D}\nAnswer:"   (ceval: "答案：")
/// shot:                question + " " + correct letter
/// continuations:       " A", " B", " C", " D"  (target delimiter " " + letter)
/// ```
/// Few-shot examples are the first k of the dev split (`first_n` sampler); when they come from the
/// evaluated file itself, the question being asked is left out of its own examples.
public struct MultipleChoicePrompt: Sendable {
    public enum Style: String, Sendable, CaseIterable, Codable {
        case mmlu, ceval
    }

    public var style: Style

    public init(style: Style = .mmlu) {
        self.style = style
    }

    /// The task description for `subject` (a file-name key such as `abstract_algebra`).
    /// Without a subject the description leaves the "about …" part out.
    public func description(subject: String?) -> String {
        switch style {
        case .mmlu:
            guard let subject, !subject.isEmpty else {
                return "The following are multiple choice questions (with answers).\n\n"
            }
            return "The following are multiple choice questions (with answers) about \(subject.replacingOccurrences(of: "_", with: " ")).\n\n"
        case .ceval:
            guard let subject, !subject.isEmpty else { return "以下是中国的单项选择题，请选出其中的正确答案。\n\n" }
            let name = Self.cevalSubjects[subject] ?? subject.replacingOccurrences(of: "_", with: " ")
            return "以下是中国关于\(name)的单项选择题，请选出其中的正确答案。\n\n"
        }
    }

    /// The question with its lettered choices and the answer cue.
    public func questionText(_ q: MultipleChoiceQuestion) -> String {
        var text = PythonText.string(PythonText.strip(PythonText.scalars(q.question)))
        for (i, choice) in q.choices.enumerated() {
            text += "\n\(MultipleChoiceSet.letter(i)). \(choice)"
        }
        return text + (style == .mmlu ? "\nAnswer:" : "\n答案：")
    }

    /// The whole context: description, the solved examples, the question.
    public func context(for q: MultipleChoiceQuestion, examples: [MultipleChoiceQuestion], subject: String?) -> String {
        var text = description(subject: subject)
        for example in examples {
            text += questionText(example) + " " + example.answerLetter + "\n\n"
        }
        return text + questionText(q)
    }

    /// The continuation scored for each choice.
    public func continuations(for q: MultipleChoiceQuestion) -> [String] {
        q.choices.indices.map { " " + MultipleChoiceSet.letter($0) }
    }

    /// lm-evaluation-harness's `first_n` sampler: the first `k` questions of the dev split. When the
    /// examples come from the evaluated split itself, `k + 1` are drawn and `q` is removed.
    public static func fewShotExamples(for q: MultipleChoiceQuestion, from pool: [MultipleChoiceQuestion], k: Int,
                                       poolIsEvaluatedSplit: Bool) -> [MultipleChoiceQuestion] {
        guard k > 0 else { return [] }
        let drawn = pool.prefix(poolIsEvaluatedSplit ? k + 1 : k)
        return Array(drawn.filter { !$0.sameContent(as: q) }.prefix(k))
    }

    /// C-Eval's subjects and the Chinese names its prompts use (from its subject mapping).
    static let cevalSubjects: [String: String] = [
        "computer_network": "计算机网络", "operating_system": "操作系统", "computer_architecture": "计算机组成",
        "college_programming": "大学编程", "college_physics": "大学物理", "college_chemistry": "大学化学",
        "advanced_mathematics": "高等数学", "probability_and_statistics": "概率统计", "discrete_mathematics": "离散数学",
        "electrical_engineer": "注册电气工程师", "metrology_engineer": "注册计量师", "high_school_mathematics": "高中数学",
        "high_school_physics": "高中物理", "high_school_chemistry": "高中化学", "high_school_biology": "高中生物",
        "middle_school_mathematics": "初中数学", "middle_school_biology": "初中生物", "middle_school_physics": "初中物理",
        "middle_school_chemistry": "初中化学", "veterinary_medicine": "兽医学", "college_economics": "大学经济学",
        "business_administration": "工商管理", "marxism": "马克思主义基本原理",
        "mao_zedong_thought": "毛泽东思想和中国特色社会主义理论体系概论", "education_science": "教育学",
        "teacher_qualification": "教师资格", "high_school_politics": "高中政治", "high_school_geography": "高中地理",
        "middle_school_politics": "初中政治", "middle_school_geography": "初中地理", "modern_chinese_history": "近代史纲要",
        "ideological_and_moral_cultivation": "思想道德修养与法律基础", "logic": "逻辑学", "law": "法学",
        "chinese_language_and_literature": "中国语言文学", "art_studies": "艺术学", "professional_tour_guide": "导游资格",
        "legal_professional": "法律职业资格", "high_school_chinese": "高中语文", "high_school_history": "高中历史",
        "middle_school_history": "初中历史", "civil_servant": "公务员", "sports_science": "体育学",
        "plant_protection": "植物保护", "basic_medicine": "基础医学", "clinical_medicine": "临床医学",
        "urban_and_rural_planner": "注册城乡规划师", "accountant": "注册会计师", "fire_engineer": "注册消防工程师",
        "environmental_impact_assessment_engineer": "环境影响评价工程师", "tax_accountant": "税务师", "physician": "医师资格",
    ]
}
