"""The fixed text of the written summary, after the CMS Part D MTM Standardized Format (CMS-10396),
which CMS publishes in English and Spanish. `{placeholders}` are filled from the snapshot."""

TEXTS = {
    "en": {
        "title": "Your medication review summary",
        "dear": "Dear {patient}:",
        "thanks": "Thank you for talking with me on {service_date} about your health and medications. {plan}'s "
        "Medication Therapy Management (MTM) Program helps you make sure that your medications are working and are "
        "safe for you.",
        "your_plan": "Your plan",
        "along_with": "Along with this letter are an action plan (Medication Action Plan) and a medication list "
        "(Personal Medication List). The action plan has steps you should take to help you get the best results from "
        "your medications. The medication list will help you keep track of your medications and how to use them the "
        "right way.",
        "bullets": [
            "Have your action plan and medication list with you when you talk with your doctors, pharmacists, and "
            "other health care providers.",
            "Ask your doctors, pharmacists, and other health care providers to update them at every visit.",
            "Take your medication list with you if you go to the hospital or emergency room.",
            "Give a copy of the medication list to your family or caregivers.",
        ],
        "call_letter": "If you want to talk about this letter or any of the papers with it, please call {contact}.",
        "sincerely": "Sincerely,",
        "pharmacist": "Pharmacist",
        "attention": "Attention:",
        "map_title": "Medication Action Plan for {patient}, DOB: {dob}",
        "map_intro": "This action plan will help you get the best results from your medications if you:",
        "map_steps": [
            'Read "What we talked about."',
            'Take the steps listed in the "What I need to do" boxes.',
            'Fill in "What I did and when I did it."',
            'Fill in "My follow-up plan" and "Questions I want to ask."',
        ],
        "map_share": "Have this action plan with you when you talk with your doctors, pharmacists, and other health "
        "care providers. Share this with your family or caregivers too.",
        "date_prepared": "DATE PREPARED:",
        "talked_about": "What we talked about:",
        "to_do": "What I need to do:",
        "did": "What I did and when I did it:",
        "follow_up": "My follow-up plan (add notes about next steps):",
        "questions": "Questions I want to ask (include topics about medications or therapy):",
        "call_map": "If you have any questions about your action plan, call {contact}.",
        "pml_title": "Personal Medication List for {patient}, DOB: {dob}",
        "pml_reminder": "This medication list was made for you after we talked. We also used information from "
        "{organisation}'s records. Use blank rows to add new medications. Then fill in the dates you started using "
        "them. Cross out medications when you no longer use them. Then write the date and why you stopped using them. "
        "Ask your doctors, pharmacists, and other health care providers to update this list at every visit. Keep this "
        "list up to date with: prescription medications, over the counter drugs, herbals, vitamins, and minerals. If "
        "you go to the hospital or emergency room, take this list with you. Share this with your family or caregivers "
        "too.",
        "allergies": "Allergies or side effects:",
        "medication": "Medication:",
        "how": "How I use it:",
        "why": "Why I use it:",
        "prescriber": "Prescriber:",
        "started": "Date I started using it:",
        "stopped": "Date I stopped using it:",
        "why_stopped": "Why I stopped using it:",
        "other": "Other information:",
        "call_pml": "If you have any questions about your medication list, call {contact}.",
        "continued": "(Continued)",
        "page": "Page",
        "of": "of",
        "no_known_allergies": "No known allergies",
        "about_title": "About my medicines",
        "about_purpose": "What it is for:",
        "about_how": "How to take it:",
        "about_side_effects": "Side effects to watch for:",
        "about_get_help": "Get medical help if:",
        "about_pregnancy": "Pregnancy, breastfeeding and birth control:",
        "stop_as_agreed": "Stop as agreed with your doctor",
        "see_action_plan": "See my Medication Action Plan.",
        "allergy_kinds": {"allergy": "allergy", "intolerance": "intolerance", "side_effect": "side effect"},
    },
    "es": {
        "title": "Resumen de la revisión de sus medicamentos",
        "dear": "Estimado(a) {patient}:",
        "thanks": "Gracias por hablar conmigo el {service_date} sobre su salud y sus medicamentos. El Programa de "
        "Manejo de Terapia con Medicamentos (MTM, por sus siglas en inglés) de {plan} le ayuda a asegurarse de que sus "
        "medicamentos funcionen y sean seguros para usted.",
        "your_plan": "su plan",
        "along_with": "Junto con esta carta, encontrará un plan de acción (Plan de Acción de Medicamentos) y una lista "
        "de medicamentos (Lista Personal de Medicamentos). El plan de acción tiene los pasos que debe seguir para "
        "obtener los mejores resultados de sus medicamentos. La lista de medicamentos le ayudará a llevar el control "
        "de sus medicamentos y a usarlos de la manera correcta.",
        "bullets": [
            "Tenga con usted su plan de acción y su lista de medicamentos cuando hable con sus médicos, farmacéuticos "
            "y otros proveedores de atención médica.",
            "Pida a sus médicos, farmacéuticos y otros proveedores de atención médica que los actualicen en cada visita.",
            "Lleve su lista de medicamentos si va al hospital o a la sala de emergencias.",
            "Dé una copia de la lista de medicamentos a su familia o a quienes lo cuidan.",
        ],
        "call_letter": "Si desea hablar sobre esta carta o cualquiera de los documentos que la acompañan, llame a "
        "{contact}.",
        "sincerely": "Atentamente,",
        "pharmacist": "Farmacéutico(a)",
        "attention": "Atención:",
        "map_title": "Plan de Acción de Medicamentos para {patient}, fecha de nacimiento: {dob}",
        "map_intro": "Este plan de acción le ayudará a obtener los mejores resultados de sus medicamentos si usted:",
        "map_steps": [
            'Lee "De qué hablamos".',
            'Sigue los pasos de los recuadros "Lo que debo hacer".',
            'Completa "Lo que hice y cuándo lo hice".',
            'Completa "Mi plan de seguimiento" y "Preguntas que quiero hacer".',
        ],
        "map_share": "Tenga este plan de acción con usted cuando hable con sus médicos, farmacéuticos y otros "
        "proveedores de atención médica. Compártalo también con su familia o con quienes lo cuidan.",
        "date_prepared": "FECHA DE PREPARACIÓN:",
        "talked_about": "De qué hablamos:",
        "to_do": "Lo que debo hacer:",
        "did": "Lo que hice y cuándo lo hice:",
        "follow_up": "Mi plan de seguimiento (agregue notas sobre los próximos pasos):",
        "questions": "Preguntas que quiero hacer (incluya temas sobre medicamentos o tratamientos):",
        "call_map": "Si tiene preguntas sobre su plan de acción, llame a {contact}.",
        "pml_title": "Lista Personal de Medicamentos para {patient}, fecha de nacimiento: {dob}",
        "pml_reminder": "Esta lista de medicamentos se preparó para usted después de nuestra conversación. También "
        "usamos información de los registros de {organisation}. Use las filas en blanco para agregar medicamentos "
        "nuevos y anote la fecha en que empezó a usarlos. Tache los medicamentos que ya no usa y escriba la fecha y "
        "por qué dejó de usarlos. Pida a sus médicos, farmacéuticos y otros proveedores de atención médica que "
        "actualicen esta lista en cada visita. Mantenga la lista al día con: medicamentos con receta, medicamentos de "
        "venta libre, hierbas, vitaminas y minerales. Si va al hospital o a la sala de emergencias, lleve esta lista. "
        "Compártala también con su familia o con quienes lo cuidan.",
        "allergies": "Alergias o efectos secundarios:",
        "medication": "Medicamento:",
        "how": "Cómo lo uso:",
        "why": "Por qué lo uso:",
        "prescriber": "Quién lo recetó:",
        "started": "Fecha en que empecé a usarlo:",
        "stopped": "Fecha en que dejé de usarlo:",
        "why_stopped": "Por qué dejé de usarlo:",
        "other": "Otra información:",
        "call_pml": "Si tiene preguntas sobre su lista de medicamentos, llame a {contact}.",
        "continued": "(Continuación)",
        "page": "Página",
        "of": "de",
        "no_known_allergies": "Sin alergias conocidas",
        "about_title": "Acerca de mis medicamentos",
        "about_purpose": "Para qué es:",
        "about_how": "Cómo tomarlo:",
        "about_side_effects": "Efectos secundarios a vigilar:",
        "about_get_help": "Busque atención médica si:",
        "about_pregnancy": "Embarazo, lactancia y anticonceptivos:",
        "stop_as_agreed": "Deje de usarlo según lo acordado con su médico",
        "see_action_plan": "Vea mi Plan de Acción de Medicamentos.",
        "allergy_kinds": {
            "allergy": "alergia",
            "intolerance": "intolerancia",
            "side_effect": "efecto secundario",
        },
    },
}


def language_for(preferred: str) -> str:
    """The summary's language: the patient's preferred one where a translation exists, else English."""
    return preferred if preferred in TEXTS else "en"


def texts(language: str, **values: str) -> dict:
    """The fixed text in `language`, placeholders filled."""
    filled = {}
    for key, text in TEXTS[language].items():
        if isinstance(text, list):
            filled[key] = [item.format(**values) for item in text]
        elif isinstance(text, dict):
            filled[key] = text
        else:
            filled[key] = text.format(**values)
    return filled
