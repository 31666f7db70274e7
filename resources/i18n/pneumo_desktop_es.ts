<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="es_ES">
<context>
    <name>AboutDialog</name>
    <message>
        <source>About {app}</source>
        <translation>Acerca de {app}</translation>
    </message>
    <message>
        <source>Model: {name} (version {version})</source>
        <translation>Modelo: {name} (versión {version})</translation>
    </message>
    <message>
        <source>No model loaded</source>
        <translation>No hay ningún modelo cargado</translation>
    </message>
    <message>
        <source>Spots signs of pneumonia on chest X-rays, offline, and shows where the model looked.</source>
        <translation>Detecta signos de neumonía en radiografías de tórax, sin conexión, y muestra en qué zonas se fijó el modelo.</translation>
    </message>
    <message>
        <source>Research use only — not a medical device.</source>
        <translation>Solo para uso en investigación — no es un producto sanitario.</translation>
    </message>
    <message>
        <source>Do not use it to diagnose, treat or rule out disease. A qualified clinician must review every image.</source>
        <translation>No lo utilice para diagnosticar, tratar ni descartar enfermedades. Un profesional sanitario cualificado debe revisar cada imagen.</translation>
    </message>
    <message>
        <source>Training data</source>
        <translation>Datos de entrenamiento</translation>
    </message>
    <message>
        <source>Chest X-ray images from Kermany et al. 2018, “Identifying Medical Diagnoses and Treatable Diseases by Image-Based Deep Learning”, Cell 172(5); data set licensed CC BY 4.0.</source>
        <translation>Radiografías de tórax de Kermany et al. 2018, «Identifying Medical Diagnoses and Treatable Diseases by Image-Based Deep Learning», Cell 172(5); conjunto de datos con licencia CC BY 4.0.</translation>
    </message>
    <message>
        <source>Licence</source>
        <translation>Licencia</translation>
    </message>
    <message>
        <source>PneumoDesktop is free software under the MIT licence. It uses Qt for Python (LGPLv3), PyTorch (BSD), NumPy (BSD) and Pillow (HPND).</source>
        <translation>PneumoDesktop es software libre con licencia MIT. Utiliza Qt for Python (LGPLv3), PyTorch (BSD), NumPy (BSD) y Pillow (HPND).</translation>
    </message>
</context>
<context>
    <name>AdoptPage</name>
    <message>
        <source>Keep the new model</source>
        <translation>Conservar el modelo nuevo</translation>
    </message>
    <message>
        <source>Nothing has been saved yet. Press Save model to keep it, or Cancel to discard it. The built-in model is never changed.</source>
        <translation>Todavía no se ha guardado nada. Pulse Guardar modelo para conservarlo o Cancelar para descartarlo. El modelo incorporado nunca se modifica.</translation>
    </message>
    <message>
        <source>Make it the active model (used for new predictions)</source>
        <translation>Convertirlo en el modelo activo (se usará en las nuevas predicciones)</translation>
    </message>
    <message>
        <source>Model name:</source>
        <translation>Nombre del modelo:</translation>
    </message>
    <message>
        <source>Saved as:</source>
        <translation>Guardado como:</translation>
    </message>
    <message>
        <source>The new model</source>
        <translation>El modelo nuevo</translation>
    </message>
    <message>
        <source>Save model</source>
        <translation>Guardar modelo</translation>
    </message>
    <message>
        <source>Classes: {c}</source>
        <translation>Clases: {c}</translation>
    </message>
    <message>
        <source>Trained on {n} images from {f}, validated on {m}; {e} in {t}.</source>
        <translation>Entrenado con {n} imágenes de {f} y validado con {m}; {e} en {t}.</translation>
    </message>
    <message>
        <source>Operating threshold {t:.3f}.</source>
        <translation>Umbral de funcionamiento {t:.3f}.</translation>
    </message>
    <message>
        <source>Validation: accuracy {a}, sensitivity {s}, specificity {p}, AUC {u}.</source>
        <translation>Validación: exactitud {a}, sensibilidad {s}, especificidad {p}, AUC {u}.</translation>
    </message>
    <message>
        <source>Test folder: accuracy {a}, sensitivity {s}, specificity {p}, AUC {u} (stored in the model file).</source>
        <translation>Carpeta de prueba: exactitud {a}, sensibilidad {s}, especificidad {p}, AUC {u} (guardado en el archivo del modelo).</translation>
    </message>
    <message>
        <source>the test folder</source>
        <translation>la carpeta de prueba</translation>
    </message>
    <message>
        <source>the validation split</source>
        <translation>la partición de validación</translation>
    </message>
    <message>
        <source>Active model ({name}) on {where}: accuracy {a}, sensitivity {s}, specificity {p}, AUC {u}.</source>
        <translation>Modelo activo ({name}) en {where}: exactitud {a}, sensibilidad {s}, especificidad {p}, AUC {u}.</translation>
    </message>
    <message>
        <source>Note: the new model&apos;s AUC is lower than the active model&apos;s on the same images.</source>
        <translation>Atención: el AUC del modelo nuevo es inferior al del modelo activo con las mismas imágenes.</translation>
    </message>
    <message>
        <source>Type a name with at least one letter or digit.</source>
        <translation>Escriba un nombre con al menos una letra o un dígito.</translation>
    </message>
    <message>
        <source>That name belongs to a built-in model; choose another.</source>
        <translation>Ese nombre pertenece a un modelo incorporado; elija otro.</translation>
    </message>
    <message>
        <source>A model with this name exists. You will be asked before it is replaced.</source>
        <translation>Ya existe un modelo con este nombre. Se le preguntará antes de reemplazarlo.</translation>
    </message>
    <message>
        <source>Characters that cannot appear in a file name were replaced.</source>
        <translation>Se han sustituido los caracteres que no pueden aparecer en un nombre de archivo.</translation>
    </message>
    <message>
        <source>Replace model?</source>
        <translation>¿Reemplazar el modelo?</translation>
    </message>
    <message>
        <source>A model named {name} already exists in your models folder.
Replace it with the new model?</source>
        <translation>Ya existe un modelo llamado {name} en su carpeta de modelos.
¿Desea reemplazarlo por el modelo nuevo?</translation>
    </message>
    <message>
        <source>The model could not be saved: {msg}</source>
        <translation>No se pudo guardar el modelo: {msg}</translation>
    </message>
</context>
<context>
    <name>ConfusionMatrixCanvas</name>
    <message>
        <source>No evaluation yet</source>
        <translation>Aún no hay evaluación</translation>
    </message>
    <message>
        <source>Predicted</source>
        <translation>Predicho</translation>
    </message>
    <message>
        <source>True</source>
        <translation>Real</translation>
    </message>
</context>
<context>
    <name>DataPage</name>
    <message>
        <source>Choose the training images</source>
        <translation>Elija las imágenes de entrenamiento</translation>
    </message>
    <message>
        <source>A folder with one sub-folder per class, for example NORMAL/ and PNEUMONIA/. Every file inside a class folder counts as an image of that class.</source>
        <translation>Una carpeta con una subcarpeta por clase, por ejemplo NORMAL/ y PNEUMONIA/. Cada archivo de una carpeta de clase cuenta como una imagen de esa clase.</translation>
    </message>
    <message>
        <source>Folder with one sub-folder per class</source>
        <translation>Carpeta con una subcarpeta por clase</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Examinar…</translation>
    </message>
    <message>
        <source>Class</source>
        <translation>Clase</translation>
    </message>
    <message>
        <source>Images</source>
        <translation>Imágenes</translation>
    </message>
    <message>
        <source>Share</source>
        <translation>Proporción</translation>
    </message>
    <message>
        <source>Next, a validation part is set aside from this folder, patient by patient: all images of one patient (file names such as person123_… or IM-0115-…) stay on the same side, so the model is never validated on a patient it has seen. Byte-identical copies stay together too.</source>
        <translation>A continuación se reserva de esta carpeta una parte para validación, paciente por paciente: todas las imágenes de un mismo paciente (nombres de archivo como person123_… o IM-0115-…) quedan del mismo lado, de modo que el modelo nunca se valida con un paciente que ya ha visto. Las copias idénticas byte a byte también se mantienen juntas.</translation>
    </message>
    <message>
        <source>Images per class</source>
        <translation>Imágenes por clase</translation>
    </message>
    <message>
        <source>Sample images</source>
        <translation>Imágenes de muestra</translation>
    </message>
    <message>
        <source>Choose the training folder</source>
        <translation>Elija la carpeta de entrenamiento</translation>
    </message>
    <message>
        <source>Checking the folder…</source>
        <translation>Comprobando la carpeta…</translation>
    </message>
    <message>
        <source>Checking the folder: listing and fingerprinting the files…</source>
        <translation>Comprobando la carpeta: listando los archivos y calculando su huella digital…</translation>
    </message>
    <message>
        <source>This folder cannot be used for training:
{msg}</source>
        <translation>Esta carpeta no se puede usar para entrenar:
{msg}</translation>
    </message>
    <message>
        <source>{n} images in {k} classes.</source>
        <translation>{n} imágenes en {k} clases.</translation>
    </message>
    <message>
        <source>Reading sample images…</source>
        <translation>Leyendo imágenes de muestra…</translation>
    </message>
    <message>
        <source>Imbalance: {ratio:.1f} : 1 ({big} to {small}).</source>
        <translation>Desequilibrio: {ratio:.1f} : 1 ({big} frente a {small}).</translation>
    </message>
    <message>
        <source>Training weighs every class equally, so the larger class does not dominate; the validation split keeps the same proportions.</source>
        <translation>El entrenamiento da el mismo peso a cada clase, de modo que la clase mayor no predomina; la partición de validación mantiene las mismas proporciones.</translation>
    </message>
    <message>
        <source>• {label} has only {n} images (fewer than {min}): the model and its validation numbers will be unreliable.</source>
        <translation>• {label} solo tiene {n} imágenes (menos de {min}): el modelo y sus cifras de validación no serán fiables.</translation>
    </message>
    <message>
        <source>• {groups} sets of byte-identical files ({files} files), e.g. {example}. Copies are kept on the same side of the validation split, but they count more than once in training.</source>
        <translation>• {groups} grupos de archivos idénticos byte a byte ({files} archivos), p. ej. {example}. Las copias se mantienen del mismo lado de la partición de validación, pero cuentan más de una vez en el entrenamiento.</translation>
    </message>
    <message>
        <source>• {n} identical images are filed under different classes ({example}). Check their labels before training.</source>
        <translation>• {n} imágenes idénticas están archivadas en clases distintas ({example}). Compruebe sus etiquetas antes de entrenar.</translation>
    </message>
    <message>
        <source>{label} ({n} images)</source>
        <translation>{label} ({n} imágenes)</translation>
    </message>
    <message>
        <source>No readable sample</source>
        <translation>Ninguna muestra legible</translation>
    </message>
</context>
<context>
    <name>Duration</name>
    <message>
        <source>{s} s</source>
        <translation>{s} s</translation>
    </message>
    <message>
        <source>{m} min {s:02d} s</source>
        <translation>{m} min {s:02d} s</translation>
    </message>
    <message>
        <source>{h} h {m:02d} min</source>
        <translation>{h} h {m:02d} min</translation>
    </message>
</context>
<context>
    <name>EvaluationPage</name>
    <message>
        <source>Evaluation</source>
        <translation>Evaluación</translation>
    </message>
    <message>
        <source>How the new model does on images it was not trained on, next to the model in use now.</source>
        <translation>Cómo funciona el modelo nuevo con imágenes con las que no se entrenó, junto al modelo que se usa ahora.</translation>
    </message>
    <message>
        <source>New model</source>
        <translation>Modelo nuevo</translation>
    </message>
    <message>
        <source>95% CI</source>
        <translation>IC del 95 %</translation>
    </message>
    <message>
        <source>Active model</source>
        <translation>Modelo activo</translation>
    </message>
    <message>
        <source>Images</source>
        <translation>Imágenes</translation>
    </message>
    <message>
        <source>Refused</source>
        <translation>Rechazadas</translation>
    </message>
    <message>
        <source>Images the model declined to classify (unreadable, or not like a chest X-ray). They count as wrong answers in every metric.</source>
        <translation>Imágenes que el modelo se negó a clasificar (ilegibles o distintas de una radiografía de tórax). Cuentan como respuestas erróneas en todas las métricas.</translation>
    </message>
    <message>
        <source>ROC curve</source>
        <translation>Curva ROC</translation>
    </message>
    <message>
        <source>Calibration</source>
        <translation>Calibración</translation>
    </message>
    <message>
        <source>Robustness</source>
        <translation>Robustez</translation>
    </message>
    <message>
        <source>Back to the model&apos;s threshold</source>
        <translation>Volver al umbral del modelo</translation>
    </message>
    <message>
        <source>Explore the threshold (new model)</source>
        <translation>Explorar el umbral (modelo nuevo)</translation>
    </message>
    <message>
        <source>Evaluated on the test folder {f}, which training never saw.</source>
        <translation>Evaluado con la carpeta de prueba {f}, que el entrenamiento nunca vio.</translation>
    </message>
    <message>
        <source>No test folder was given, so this is the validation split ({n} images). It also chose the model&apos;s threshold and best epoch, so these numbers are somewhat optimistic.</source>
        <translation>No se indicó ninguna carpeta de prueba, así que se usa la partición de validación ({n} imágenes). Con ella se eligieron también el umbral y la mejor época del modelo, por lo que estas cifras son algo optimistas.</translation>
    </message>
    <message>
        <source>Evaluating the new model…</source>
        <translation>Evaluando el modelo nuevo…</translation>
    </message>
    <message>
        <source>new model</source>
        <translation>modelo nuevo</translation>
    </message>
    <message>
        <source>active model</source>
        <translation>modelo activo</translation>
    </message>
    <message>
        <source>Evaluating the {which}: {d} of {n} images</source>
        <translation>Evaluando el {which}: {d} de {n} imágenes</translation>
    </message>
    <message>
        <source>Evaluating the {which}: computing the 95% confidence intervals…</source>
        <translation>Evaluando el {which}: calculando los intervalos de confianza del 95 %…</translation>
    </message>
    <message>
        <source>{n} of the {m} test images are byte-identical to training images ({names}). They make the test numbers look better than they are.</source>
        <translation>{n} de las {m} imágenes de prueba son idénticas byte a byte a imágenes de entrenamiento ({names}). Hacen que las cifras de prueba parezcan mejores de lo que son.</translation>
    </message>
    <message>
        <source>The evaluation could not be completed: {msg}</source>
        <translation>No se pudo completar la evaluación: {msg}</translation>
    </message>
    <message>
        <source>new model (AUC {auc})</source>
        <translation>modelo nuevo (AUC {auc})</translation>
    </message>
    <message>
        <source>ROC undefined: the images are all of one kind</source>
        <translation>ROC no definida: todas las imágenes son de la misma clase</translation>
    </message>
    <message>
        <source>For exploring only: the saved model keeps the threshold chosen on the validation split ({t:.3f}). ◇ marks each model&apos;s own threshold on the ROC curve, ● the slider.</source>
        <translation>Solo para explorar: el modelo guardado conserva el umbral elegido con la partición de validación ({t:.3f}). ◇ marca el umbral propio de cada modelo en la curva ROC; ●, el del control deslizante.</translation>
    </message>
    <message>
        <source>active model (AUC {auc})</source>
        <translation>modelo activo (AUC {auc})</translation>
    </message>
    <message>
        <source>There is no active model to compare with.</source>
        <translation>No hay ningún modelo activo con el que comparar.</translation>
    </message>
    <message>
        <source>The active model ({name}) could not be evaluated on these images: {msg}</source>
        <translation>El modelo activo ({name}) no se pudo evaluar con estas imágenes: {msg}</translation>
    </message>
    <message>
        <source>Active model: {name}, threshold {t:.3f}. Where the 95% intervals overlap, the difference may be due to chance.</source>
        <translation>Modelo activo: {name}, umbral {t:.3f}. Donde los intervalos del 95 % se solapan, la diferencia puede deberse al azar.</translation>
    </message>
    <message>
        <source>The active model ({name}) is evaluated next.</source>
        <translation>A continuación se evalúa el modelo activo ({name}).</translation>
    </message>
    <message>
        <source>Threshold: –</source>
        <translation>Umbral: –</translation>
    </message>
    <message>
        <source>Sensitivity: –</source>
        <translation>Sensibilidad: –</translation>
    </message>
    <message>
        <source>Specificity: –</source>
        <translation>Especificidad: –</translation>
    </message>
    <message>
        <source>Threshold: {t:.3f}</source>
        <translation>Umbral: {t:.3f}</translation>
    </message>
    <message>
        <source>Sensitivity: {v}</source>
        <translation>Sensibilidad: {v}</translation>
    </message>
    <message>
        <source>Specificity: {v}</source>
        <translation>Especificidad: {v}</translation>
    </message>
    <message>
        <source>{n} refused images not shown (counted as wrong in the table)</source>
        <translation>{n} imágenes rechazadas no se muestran (cuentan como erróneas en la tabla)</translation>
    </message>
    <message>
        <source>Confusion matrix
at threshold {t:.3f}</source>
        <translation>Matriz de confusión
con umbral {t:.3f}</translation>
    </message>
    <message>
        <source>Confusion matrix
at the model&apos;s threshold</source>
        <translation>Matriz de confusión
con el umbral del modelo</translation>
    </message>
</context>
<context>
    <name>ExportController</name>
    <message>
        <source>Writing the report…</source>
        <translation>Escribiendo el informe…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancelar</translation>
    </message>
    <message>
        <source>Export report</source>
        <translation>Exportar informe</translation>
    </message>
    <message>
        <source>Could not write {path}:
{error}</source>
        <translation>No se pudo escribir {path}:
{error}</translation>
    </message>
    <message>
        <source>The report could not be written:
{error}</source>
        <translation>No se pudo escribir el informe:
{error}</translation>
    </message>
</context>
<context>
    <name>HeatmapLegend</name>
    <message>
        <source>Low</source>
        <translation>Baja</translation>
    </message>
    <message>
        <source>High</source>
        <translation>Alta</translation>
    </message>
    <message>
        <source>Model attention (Grad-CAM)</source>
        <translation>Atención del modelo (Grad-CAM)</translation>
    </message>
    <message>
        <source>Grad-CAM colours the regions that most influenced the model&apos;s verdict. It shows where the model looked, not where disease is.</source>
        <translation>Grad-CAM colorea las regiones que más influyeron en el veredicto del modelo. Muestra dónde se fijó el modelo, no dónde está la enfermedad.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Archivo</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Ver</translation>
    </message>
    <message>
        <source>&amp;Model</source>
        <translation>&amp;Modelo</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>Ay&amp;uda</translation>
    </message>
    <message>
        <source>Open &amp;recent</source>
        <translation>Abrir &amp;recientes</translation>
    </message>
    <message>
        <source>&amp;Panels</source>
        <translation>&amp;Paneles</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>Idi&amp;oma</translation>
    </message>
    <message>
        <source>&amp;Models trained in this app</source>
        <translation>Mo&amp;delos entrenados en esta aplicación</translation>
    </message>
    <message>
        <source>&amp;Open images…</source>
        <translation>&amp;Abrir imágenes…</translation>
    </message>
    <message>
        <source>Open one or more X-ray images</source>
        <translation>Abrir una o varias radiografías</translation>
    </message>
    <message>
        <source>Open &amp;folder…</source>
        <translation>Abrir &amp;carpeta…</translation>
    </message>
    <message>
        <source>Analyse every image in a folder and its sub-folders</source>
        <translation>Analizar todas las imágenes de una carpeta y sus subcarpetas</translation>
    </message>
    <message>
        <source>C&amp;lear results</source>
        <translation>&amp;Borrar resultados</translation>
    </message>
    <message>
        <source>Remove every row from the results table</source>
        <translation>Quitar todas las filas de la tabla de resultados</translation>
    </message>
    <message>
        <source>&amp;Export results…</source>
        <translation>E&amp;xportar resultados…</translation>
    </message>
    <message>
        <source>Save the results table as a CSV file</source>
        <translation>Guardar la tabla de resultados como archivo CSV</translation>
    </message>
    <message>
        <source>Export re&amp;port…</source>
        <translation>Exportar &amp;informe…</translation>
    </message>
    <message>
        <source>Save a PDF report with each image, its heatmap and verdict</source>
        <translation>Guardar un informe PDF con cada imagen, su mapa de calor y su veredicto</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Salir</translation>
    </message>
    <message>
        <source>Quit PneumoDesktop</source>
        <translation>Salir de PneumoDesktop</translation>
    </message>
    <message>
        <source>&amp;Grad-CAM overlay</source>
        <translation>Superposición &amp;Grad-CAM</translation>
    </message>
    <message>
        <source>Show where the model looked (G)</source>
        <translation>Mostrar dónde se fijó el modelo (G)</translation>
    </message>
    <message>
        <source>&amp;Fit to window</source>
        <translation>Ajustar a la &amp;ventana</translation>
    </message>
    <message>
        <source>Fit the whole image in the view (F)</source>
        <translation>Mostrar la imagen completa en la vista (F)</translation>
    </message>
    <message>
        <source>&amp;Actual size (1:1)</source>
        <translation>&amp;Tamaño real (1:1)</translation>
    </message>
    <message>
        <source>One image pixel per screen pixel (1)</source>
        <translation>Un píxel de la imagen por píxel de pantalla (1)</translation>
    </message>
    <message>
        <source>Zoom in</source>
        <translation>Ampliar</translation>
    </message>
    <message>
        <source>Zoom i&amp;n</source>
        <translation>A&amp;mpliar</translation>
    </message>
    <message>
        <source>Zoom &amp;out</source>
        <translation>Re&amp;ducir</translation>
    </message>
    <message>
        <source>Zoom out</source>
        <translation>Reducir</translation>
    </message>
    <message>
        <source>&amp;Invert</source>
        <translation>&amp;Invertir</translation>
    </message>
    <message>
        <source>Show the image as a negative (I)</source>
        <translation>Mostrar la imagen en negativo (I)</translation>
    </message>
    <message>
        <source>&amp;Reset window/level</source>
        <translation>&amp;Restablecer ventana/nivel</translation>
    </message>
    <message>
        <source>Restore the full brightness range (R). Drag with the right mouse button on the image to adjust window and level.</source>
        <translation>Restablecer el rango completo de brillo (R). Arrastre con el botón derecho del ratón sobre la imagen para ajustar la ventana y el nivel.</translation>
    </message>
    <message>
        <source>See the selected image through the model&apos;s layers</source>
        <translation>Ver la imagen seleccionada a través de las capas del modelo</translation>
    </message>
    <message>
        <source>&amp;Model inspector…</source>
        <translation>I&amp;nspector del modelo…</translation>
    </message>
    <message>
        <source>&amp;Load model file…</source>
        <translation>&amp;Cargar archivo de modelo…</translation>
    </message>
    <message>
        <source>Use a different .pneumo model file</source>
        <translation>Usar otro archivo de modelo .pneumo</translation>
    </message>
    <message>
        <source>Model &amp;information</source>
        <translation>&amp;Información del modelo</translation>
    </message>
    <message>
        <source>Training data, metrics, threshold and date of the model</source>
        <translation>Datos de entrenamiento, métricas, umbral y fecha del modelo</translation>
    </message>
    <message>
        <source>Set thres&amp;hold…</source>
        <translation>Fijar el &amp;umbral…</translation>
    </message>
    <message>
        <source>Change the probability above which an image is flagged</source>
        <translation>Cambiar la probabilidad a partir de la cual se marca una imagen</translation>
    </message>
    <message>
        <source>&amp;Train new model…</source>
        <translation>&amp;Entrenar un modelo nuevo…</translation>
    </message>
    <message>
        <source>Train a model on a labelled folder of X-rays</source>
        <translation>Entrenar un modelo con una carpeta de radiografías etiquetadas</translation>
    </message>
    <message>
        <source>&amp;About PneumoDesktop</source>
        <translation>&amp;Acerca de PneumoDesktop</translation>
    </message>
    <message>
        <source>Version, licence and intended use</source>
        <translation>Versión, licencia y uso previsto</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancelar</translation>
    </message>
    <message>
        <source>Stop the running batch; results so far are kept</source>
        <translation>Detener el lote en curso; se conservan los resultados obtenidos</translation>
    </message>
    <message>
        <source>Open images</source>
        <translation>Abrir imágenes</translation>
    </message>
    <message>
        <source>Open folder</source>
        <translation>Abrir carpeta</translation>
    </message>
    <message>
        <source>Export CSV</source>
        <translation>Exportar CSV</translation>
    </message>
    <message>
        <source>PDF report</source>
        <translation>Informe PDF</translation>
    </message>
    <message>
        <source>Heatmap</source>
        <translation>Mapa de calor</translation>
    </message>
    <message>
        <source>Fit</source>
        <translation>Ajustar</translation>
    </message>
    <message>
        <source>1:1</source>
        <translation>1:1</translation>
    </message>
    <message>
        <source>Invert</source>
        <translation>Invertir</translation>
    </message>
    <message>
        <source>Reset W/L</source>
        <translation>Restablecer V/N</translation>
    </message>
    <message>
        <source>Zoom +</source>
        <translation>Zoom +</translation>
    </message>
    <message>
        <source>Zoom −</source>
        <translation>Zoom −</translation>
    </message>
    <message>
        <source>Image</source>
        <translation>Imagen</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>Predeterminado del sistema</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Archivo</translation>
    </message>
    <message>
        <source>View</source>
        <translation>Ver</translation>
    </message>
    <message>
        <source>Opacity</source>
        <translation>Opacidad</translation>
    </message>
    <message>
        <source>Heatmap opacity</source>
        <translation>Opacidad del mapa de calor</translation>
    </message>
    <message>
        <source>Explain</source>
        <translation>Explicar</translation>
    </message>
    <message>
        <source>Which class the heatmap explains</source>
        <translation>Clase que explica el mapa de calor</translation>
    </message>
    <message>
        <source>Level</source>
        <translation>Nivel</translation>
    </message>
    <message>
        <source>Window level (brightness)</source>
        <translation>Nivel de ventana (brillo)</translation>
    </message>
    <message>
        <source>Contrast</source>
        <translation>Contraste</translation>
    </message>
    <message>
        <source>Window width (contrast)</source>
        <translation>Anchura de ventana (contraste)</translation>
    </message>
    <message>
        <source>Finding</source>
        <translation>Hallazgo</translation>
    </message>
    <message>
        <source>Results</source>
        <translation>Resultados</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>Mostrar</translation>
    </message>
    <message>
        <source>All</source>
        <translation>Todos</translation>
    </message>
    <message>
        <source>Positives</source>
        <translation>Positivos</translation>
    </message>
    <message>
        <source>Negatives</source>
        <translation>Negativos</translation>
    </message>
    <message>
        <source>Unsupported</source>
        <translation>No admitidos</translation>
    </message>
    <message>
        <source>Errors</source>
        <translation>Errores</translation>
    </message>
    <message>
        <source>Filter by file name…</source>
        <translation>Filtrar por nombre de archivo…</translation>
    </message>
    <message>
        <source>{app} — model {model}</source>
        <translation>{app} — modelo {model}</translation>
    </message>
    <message>
        <source>Open chest X-ray images</source>
        <translation>Abrir radiografías de tórax</translation>
    </message>
    <message>
        <source>Images ({patterns});;All files (*)</source>
        <translation>Imágenes ({patterns});;Todos los archivos (*)</translation>
    </message>
    <message>
        <source>Open a folder of chest X-rays</source>
        <translation>Abrir una carpeta de radiografías de tórax</translation>
    </message>
    <message>
        <source>No recent files</source>
        <translation>No hay archivos recientes</translation>
    </message>
    <message>
        <source>Clear list</source>
        <translation>Borrar la lista</translation>
    </message>
    <message>
        <source>Waiting for the model to load…</source>
        <translation>Esperando a que se cargue el modelo…</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>Cancelando…</translation>
    </message>
    <message>
        <source>Cancelled: {n} results kept.</source>
        <translation>Cancelado: se conservan {n} resultados.</translation>
    </message>
    <message>
        <source>The batch stopped: {message}</source>
        <translation>El lote se detuvo: {message}</translation>
    </message>
    <message>
        <source>Analysis stopped</source>
        <translation>Análisis detenido</translation>
    </message>
    <message>
        <source>The analysis stopped because of an unexpected error:

{message}

The results so far are kept.</source>
        <translation>El análisis se detuvo por un error inesperado:

{message}

Se conservan los resultados obtenidos hasta ahora.</translation>
    </message>
    <message>
        <source>Done: {n} images analysed.</source>
        <translation>Terminado: {n} imágenes analizadas.</translation>
    </message>
    <message>
        <source>Finding images…</source>
        <translation>Buscando imágenes…</translation>
    </message>
    <message>
        <source>{done} of {total} · about {eta} left</source>
        <translation>{done} de {total} · quedan unos {eta}</translation>
    </message>
    <message>
        <source>{done} of {total}</source>
        <translation>{done} de {total}</translation>
    </message>
    <message>
        <source>{total} images · {pos} abnormal · {neg} normal · {uns} unsupported · {err} errors</source>
        <translation>{total} imágenes · {pos} anómalas · {neg} normales · {uns} no admitidas · {err} errores</translation>
    </message>
    <message>
        <source>Could not show the image: {message}</source>
        <translation>No se pudo mostrar la imagen: {message}</translation>
    </message>
    <message>
        <source>Verdict class</source>
        <translation>Clase del veredicto</translation>
    </message>
    <message>
        <source>x {x}, y {y} · value {v}</source>
        <translation>x {x}, y {y} · valor {v}</translation>
    </message>
    <message>
        <source>Zoom {z}</source>
        <translation>Zoom {z}</translation>
    </message>
    <message>
        <source>Loading the model…</source>
        <translation>Cargando el modelo…</translation>
    </message>
    <message>
        <source>No model loaded. Use Model › Load model file… to choose one.</source>
        <translation>No hay ningún modelo cargado. Use Modelo › Cargar archivo de modelo… para elegir uno.</translation>
    </message>
    <message>
        <source>Open chest X-ray images or a folder (File › Open), or drop them here.</source>
        <translation>Abra radiografías de tórax o una carpeta (Archivo › Abrir), o arrástrelas aquí.</translation>
    </message>
    <message>
        <source>Select a row to see the image.</source>
        <translation>Seleccione una fila para ver la imagen.</translation>
    </message>
    <message>
        <source>{n} item(s) will be analysed as soon as the model is ready.</source>
        <translation>Se analizarán {n} elemento(s) en cuanto el modelo esté listo.</translation>
    </message>
    <message>
        <source>Load a PneumoDesktop model</source>
        <translation>Cargar un modelo de PneumoDesktop</translation>
    </message>
    <message>
        <source>PneumoDesktop models (*.pneumo);;All files (*)</source>
        <translation>Modelos de PneumoDesktop (*.pneumo);;Todos los archivos (*)</translation>
    </message>
    <message>
        <source>Loading model {name}…</source>
        <translation>Cargando el modelo {name}…</translation>
    </message>
    <message>
        <source>Model changed: analysing the images again.</source>
        <translation>El modelo ha cambiado: se vuelven a analizar las imágenes.</translation>
    </message>
    <message>
        <source>The current model ({name}) is still in use.</source>
        <translation>Se sigue usando el modelo actual ({name}).</translation>
    </message>
    <message>
        <source>No model is loaded.</source>
        <translation>No hay ningún modelo cargado.</translation>
    </message>
    <message>
        <source>Cannot load model</source>
        <translation>No se puede cargar el modelo</translation>
    </message>
    <message>
        <source>{file} could not be loaded:

{message}

{detail}</source>
        <translation>No se pudo cargar {file}:

{message}

{detail}</translation>
    </message>
    <message>
        <source>Cannot load model {file}: {message}</source>
        <translation>No se puede cargar el modelo {file}: {message}</translation>
    </message>
    <message>
        <source>Loading model…</source>
        <translation>Cargando el modelo…</translation>
    </message>
    <message>
        <source>No model loaded</source>
        <translation>No hay ningún modelo cargado</translation>
    </message>
    <message>
        <source>Model {name} · threshold {t}</source>
        <translation>Modelo {name} · umbral {t}</translation>
    </message>
    <message>
        <source>Built-in model (fast, default)</source>
        <translation>Modelo incorporado (rápido, predeterminado)</translation>
    </message>
    <message>
        <source>Built-in ensemble (slower)</source>
        <translation>Conjunto incorporado (más lento)</translation>
    </message>
    <message>
        <source>Built-in three-class model (bacterial / viral)</source>
        <translation>Modelo incorporado de tres clases (bacteriana / vírica)</translation>
    </message>
    <message>
        <source>No models yet — use Train new model…</source>
        <translation>Todavía no hay modelos — use Entrenar un modelo nuevo…</translation>
    </message>
    <message>
        <source>Export results</source>
        <translation>Exportar resultados</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>Archivos CSV (*.csv)</translation>
    </message>
    <message>
        <source>Export failed</source>
        <translation>Error al exportar</translation>
    </message>
    <message>
        <source>Results saved to {path}</source>
        <translation>Resultados guardados en {path}</translation>
    </message>
    <message>
        <source>Export report</source>
        <translation>Exportar informe</translation>
    </message>
    <message>
        <source>PDF files (*.pdf)</source>
        <translation>Archivos PDF (*.pdf)</translation>
    </message>
    <message>
        <source>Report saved to {path}</source>
        <translation>Informe guardado en {path}</translation>
    </message>
    <message>
        <source>Model inspector</source>
        <translation>Inspector del modelo</translation>
    </message>
    <message>
        <source>Load a model first.</source>
        <translation>Primero cargue un modelo.</translation>
    </message>
    <message>
        <source>The model inspector is not available in this build:
{error}</source>
        <translation>El inspector del modelo no está disponible en esta versión:
{error}</translation>
    </message>
    <message>
        <source>Model inspector: {error}</source>
        <translation>Inspector del modelo: {error}</translation>
    </message>
    <message>
        <source>Train new model</source>
        <translation>Entrenar un modelo nuevo</translation>
    </message>
    <message>
        <source>Training is not available in this build:
{error}</source>
        <translation>El entrenamiento no está disponible en esta versión:
{error}</translation>
    </message>
    <message>
        <source>New model saved: {path}</source>
        <translation>Modelo nuevo guardado: {path}</translation>
    </message>
</context>
<context>
    <name>MetricLabels</name>
    <message>
        <source>Images</source>
        <translation>Imágenes</translation>
    </message>
    <message>
        <source>Accuracy</source>
        <translation>Exactitud</translation>
    </message>
    <message>
        <source>Sensitivity (recall)</source>
        <translation>Sensibilidad</translation>
    </message>
    <message>
        <source>Specificity</source>
        <translation>Especificidad</translation>
    </message>
    <message>
        <source>Precision (PPV)</source>
        <translation>Precisión (VPP)</translation>
    </message>
    <message>
        <source>F1 score</source>
        <translation>Puntuación F1</translation>
    </message>
    <message>
        <source>ROC AUC</source>
        <translation>AUC ROC</translation>
    </message>
    <message>
        <source>Calibration error (ECE)</source>
        <translation>Error de calibración (ECE)</translation>
    </message>
</context>
<context>
    <name>ModelInfoDialog</name>
    <message>
        <source>Specificity</source>
        <translation>Especificidad</translation>
    </message>
    <message>
        <source>ROC AUC</source>
        <translation>AUC ROC</translation>
    </message>
    <message>
        <source>Model information</source>
        <translation>Información del modelo</translation>
    </message>
    <message>
        <source>Known weaknesses (stress test on validation images)</source>
        <translation>Puntos débiles conocidos (prueba de estrés con imágenes de validación)</translation>
    </message>
    <message>
        <source>Each change was applied to the validation X-rays of healthy children only, as if they came from another machine or exposure. Where specificity falls, the model tends to call such healthy chests abnormal: review its positive verdicts on images like these with extra care.</source>
        <translation>Cada cambio se aplicó solo a las radiografías de validación de niños sanos, como si procedieran de otro equipo o de otra exposición. Donde la especificidad cae, el modelo tiende a considerar anormales esos tórax sanos: revise con especial cuidado sus resultados positivos en imágenes de este tipo.</translation>
    </message>
    <message>
        <source>Change to healthy chests</source>
        <translation>Cambio en tórax sanos</translation>
    </message>
    <message>
        <source>These figures describe how the model reacts to each change. They did not predict its accuracy on the official test split (docs/experiments.md).</source>
        <translation>Estas cifras describen cómo reacciona el modelo a cada cambio. No predijeron su exactitud en la partición de prueba oficial (docs/experiments.md).</translation>
    </message>
    <message>
        <source>Images it refuses</source>
        <translation>Imágenes que rechaza</translation>
    </message>
    <message>
        <source>Colour images, blank frames, noise, scanned pages and odd shapes are refused before the model runs, and so are images whose features lie far from those of its training images.</source>
        <translation>Las imágenes en color, los fotogramas en blanco, el ruido, las páginas escaneadas y las proporciones extrañas se rechazan antes de que actúe el modelo, y también las imágenes cuyas características quedan lejos de las de sus imágenes de entrenamiento.</translation>
    </message>
    <message>
        <source>A small second network, trained to tell frontal chest X-rays from other images (photographs, other scans, maps, rotated or inverted X-rays), refuses what does not look like one.</source>
        <translation>Una segunda red pequeña, entrenada para distinguir las radiografías de tórax frontales de otras imágenes (fotografías, otras exploraciones, mapas, radiografías giradas o invertidas), rechaza lo que no parece una.</translation>
    </message>
    <message>
        <source>On its validation X-rays it refused {plain}; under simulated acquisition changes, at most {worst}.</source>
        <translation>En sus radiografías de validación rechazó un {plain}; con cambios de adquisición simulados, como máximo un {worst}.</translation>
    </message>
    <message>
        <source>This model file has no chest X-ray detector, so grayscale images that are not X-rays may get a verdict: check what you open.</source>
        <translation>Este archivo de modelo no tiene detector de radiografías de tórax, así que imágenes en escala de grises que no son radiografías pueden recibir un veredicto: compruebe lo que abre.</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Nombre</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>Versión</translation>
    </message>
    <message>
        <source>Created</source>
        <translation>Creado</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Archivo</translation>
    </message>
    <message>
        <source>Classes</source>
        <translation>Clases</translation>
    </message>
    <message>
        <source>Threshold in use</source>
        <translation>Umbral en uso</translation>
    </message>
    <message>
        <source>Model&apos;s own threshold</source>
        <translation>Umbral propio del modelo</translation>
    </message>
    <message>
        <source>How it was chosen</source>
        <translation>Cómo se eligió</translation>
    </message>
    <message>
        <source>Temperature (calibration)</source>
        <translation>Temperatura (calibración)</translation>
    </message>
    <message>
        <source>Architecture</source>
        <translation>Arquitectura</translation>
    </message>
    <message>
        <source>{type} {widths}, ensemble of {n}</source>
        <translation>{type} {widths}, conjunto de {n}</translation>
    </message>
    <message>
        <source>histogram-equalised</source>
        <translation>histograma ecualizado</translation>
    </message>
    <message>
        <source>local (CLAHE) equalisation</source>
        <translation>ecualización local (CLAHE)</translation>
    </message>
    <message>
        <source>no equalisation</source>
        <translation>sin ecualización</translation>
    </message>
    <message>
        <source>, outer {percent} of each side hidden</source>
        <translation>, {percent} exterior de cada lado oculto</translation>
    </message>
    <message>
        <source>Input</source>
        <translation>Entrada</translation>
    </message>
    <message>
        <source>Test-time views</source>
        <translation>Vistas en inferencia (TTA)</translation>
    </message>
    <message>
        <source>Training data</source>
        <translation>Datos de entrenamiento</translation>
    </message>
    <message>
        <source>Training images</source>
        <translation>Imágenes de entrenamiento</translation>
    </message>
    <message>
        <source>Validation images</source>
        <translation>Imágenes de validación</translation>
    </message>
    <message>
        <source>Split</source>
        <translation>División</translation>
    </message>
    <message>
        <source>Training time</source>
        <translation>Tiempo de entrenamiento</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>Semilla</translation>
    </message>
    <message>
        <source>Command</source>
        <translation>Orden</translation>
    </message>
    <message>
        <source>Performance</source>
        <translation>Rendimiento</translation>
    </message>
    <message>
        <source>Validation</source>
        <translation>Validación</translation>
    </message>
    <message>
        <source>Test</source>
        <translation>Prueba</translation>
    </message>
    <message>
        <source>Ranges in brackets are 95% confidence intervals. Test figures are shown only when the model file records an evaluation on a held-out test set.</source>
        <translation>Los intervalos entre paréntesis son intervalos de confianza del 95 %. Las cifras de prueba solo se muestran si el archivo del modelo registra una evaluación en un conjunto de prueba independiente.</translation>
    </message>
    <message>
        <source>Research use only — not a medical device</source>
        <translation>Solo para uso en investigación — no es un producto sanitario</translation>
    </message>
</context>
<context>
    <name>ModelInspector</name>
    <message>
        <source>Model inspector</source>
        <translation>Inspector del modelo</translation>
    </message>
    <message>
        <source>Channel number</source>
        <translation>Número de canal</translation>
    </message>
    <message>
        <source>Strongest response first</source>
        <translation>Respuesta más intensa primero</translation>
    </message>
    <message>
        <source>Channels per block:</source>
        <translation>Canales por bloque:</translation>
    </message>
    <message>
        <source>Order:</source>
        <translation>Orden:</translation>
    </message>
    <message>
        <source>Each small image is one channel of a block&apos;s output for this X-ray, scaled on its own from black (weakest) to white (strongest). Early blocks respond to edges and textures; later blocks are coarser and respond to larger patterns.</source>
        <translation>Cada imagen pequeña es un canal de la salida de un bloque para esta radiografía, escalado por separado de negro (más débil) a blanco (más intenso). Los primeros bloques responden a bordes y texturas; los posteriores son más gruesos y responden a patrones más grandes.</translation>
    </message>
    <message>
        <source>Overview</source>
        <translation>Resumen</translation>
    </message>
    <message>
        <source>Block {n}</source>
        <translation>Bloque {n}</translation>
    </message>
    <message>
        <source>negative</source>
        <translation>negativo</translation>
    </message>
    <message>
        <source>positive</source>
        <translation>positivo</translation>
    </message>
    <message>
        <source>First-layer filters</source>
        <translation>Filtros de la primera capa</translation>
    </message>
    <message>
        <source>No image selected. Select an image in the results list, then open the inspector again.</source>
        <translation>No hay ninguna imagen seleccionada. Seleccione una imagen en la lista de resultados y vuelva a abrir el inspector.</translation>
    </message>
    <message>
        <source>Model inspector — {name}</source>
        <translation>Inspector del modelo — {name}</translation>
    </message>
    <message>
        <source>Computing the activation maps…</source>
        <translation>Calculando los mapas de activación…</translation>
    </message>
    <message>
        <source>Computing…</source>
        <translation>Calculando…</translation>
    </message>
    <message>
        <source>Could not compute the activation maps: {msg}</source>
        <translation>No se pudieron calcular los mapas de activación: {msg}</translation>
    </message>
    <message>
        <source>Image: {name}</source>
        <translation>Imagen: {name}</translation>
    </message>
    <message>
        <source>Model: {name} (version {v})</source>
        <translation>Modelo: {name} (versión {v})</translation>
    </message>
    <message>
        <source>Model&apos;s answer: {label} (P(abnormal) {p:.1%}, threshold {t:.3f})</source>
        <translation>Respuesta del modelo: {label} (P(anómala) {p:.1%}, umbral {t:.3f})</translation>
    </message>
    <message>
        <source>Input: {s}×{s} pixels after the model&apos;s own preprocessing</source>
        <translation>Entrada: {s}×{s} píxeles tras el preprocesamiento propio del modelo</translation>
    </message>
    <message>
        <source>channel {k}: mean {m:.3f}, max {x:.3f}</source>
        <translation>canal {k}: media {m:.3f}, máx. {x:.3f}</translation>
    </message>
    <message>
        <source>Block {n}: {c} channels of {h}×{w} pixels; showing {s}.</source>
        <translation>Bloque {n}: {c} canales de {h}×{w} píxeles; se muestran {s}.</translation>
    </message>
    <message>
        <source>{d} channels are silent (all zero) for this image and show black.</source>
        <translation>{d} canales están inactivos (todo ceros) para esta imagen y se ven en negro.</translation>
    </message>
    <message>
        <source>Block {n} · {c} × {h}×{w}</source>
        <translation>Bloque {n} · {c} × {h}×{w}</translation>
    </message>
    <message>
        <source>Block {n}
{c} ch · {h}×{w}</source>
        <translation>Bloque {n}
{c} can. · {h}×{w}</translation>
    </message>
    <message>
        <source>Filters
block 1</source>
        <translation>Filtros
bloque 1</translation>
    </message>
    <message>
        <source>The {n} 3×3 convolution kernels of block 1, enlarged; each is scaled by its largest weight. Dark squares are negative weights, mid-grey zero, bright positive: a kernel with a bright side and a dark side detects edges across that direction.</source>
        <translation>Los {n} núcleos de convolución 3×3 del bloque 1, ampliados; cada uno se escala por su peso mayor. Los cuadrados oscuros son pesos negativos, el gris medio es cero y los claros son positivos: un núcleo con un lado claro y otro oscuro detecta bordes en esa dirección.</translation>
    </message>
    <message>
        <source>filter {k}</source>
        <translation>filtro {k}</translation>
    </message>
</context>
<context>
    <name>ReliabilityCanvas</name>
    <message>
        <source>perfect calibration</source>
        <translation>calibración perfecta</translation>
    </message>
    <message>
        <source>Predicted probability of disease</source>
        <translation>Probabilidad de enfermedad predicha</translation>
    </message>
    <message>
        <source>Observed fraction with disease</source>
        <translation>Fracción observada con enfermedad</translation>
    </message>
    <message>
        <source>Calibration (marker size: images per bin)</source>
        <translation>Calibración (tamaño del marcador: imágenes por intervalo)</translation>
    </message>
    <message>
        <source>{label}, ECE {ece}</source>
        <translation>{label}, ECE {ece}</translation>
    </message>
</context>
<context>
    <name>Report</name>
    <message>
        <source>Chest X-ray analysis report</source>
        <translation>Informe de análisis de radiografías de tórax</translation>
    </message>
    <message>
        <source>Model {name} (version {version}) · threshold {t} · {date}</source>
        <translation>Modelo {name} (versión {version}) · umbral {t} · {date}</translation>
    </message>
    <message>
        <source>Research use only — not a medical device. Grad-CAM shows where the model looked; it is not a diagnosis.</source>
        <translation>Solo para uso en investigación — no es un producto sanitario. Grad-CAM muestra dónde se fijó el modelo; no es un diagnóstico.</translation>
    </message>
    <message>
        <source>Page {n}</source>
        <translation>Página {n}</translation>
    </message>
    <message>
        <source>Not analysed</source>
        <translation>No analizada</translation>
    </message>
    <message>
        <source>{n} images: {pos} flagged abnormal, {neg} normal, {other} not analysed.</source>
        <translation>{n} imágenes: {pos} marcadas como anómalas, {neg} normales, {other} no analizadas.</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Archivo</translation>
    </message>
    <message>
        <source>Verdict</source>
        <translation>Veredicto</translation>
    </message>
    <message>
        <source>P(pneumonia)</source>
        <translation>P(neumonía)</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Borderline — review carefully: the probability is within 10 points of the threshold.</source>
        <translation>Caso límite — revíselo con atención: la probabilidad está a menos de 10 puntos del umbral.</translation>
    </message>
    <message>
        <source>P(pneumonia) {p} · threshold {t}</source>
        <translation>P(neumonía) {p} · umbral {t}</translation>
    </message>
    <message>
        <source>Borderline — review carefully</source>
        <translation>Caso límite — revíselo con atención</translation>
    </message>
    <message>
        <source>Radiograph</source>
        <translation>Radiografía</translation>
    </message>
    <message>
        <source>Grad-CAM overlay</source>
        <translation>Superposición Grad-CAM</translation>
    </message>
    <message>
        <source>Image not available</source>
        <translation>Imagen no disponible</translation>
    </message>
    <message>
        <source>No heatmap for this file</source>
        <translation>No hay mapa de calor para este archivo</translation>
    </message>
    <message>
        <source>Low</source>
        <translation>Baja</translation>
    </message>
    <message>
        <source>High</source>
        <translation>Alta</translation>
    </message>
    <message>
        <source>Class probabilities</source>
        <translation>Probabilidades por clase</translation>
    </message>
</context>
<context>
    <name>ResultPanel</name>
    <message>
        <source>Class probabilities</source>
        <translation>Probabilidades por clase</translation>
    </message>
    <message>
        <source>Explanation</source>
        <translation>Explicación</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modelo</translation>
    </message>
    <message>
        <source>Image</source>
        <translation>Imagen</translation>
    </message>
    <message>
        <source>Research use only — not a medical device</source>
        <translation>Solo para uso en investigación — no es un producto sanitario</translation>
    </message>
    <message>
        <source>PneumoDesktop is a research tool. Its output must not be used to diagnose, treat or exclude disease; a qualified clinician must review every image.</source>
        <translation>PneumoDesktop es una herramienta de investigación. Sus resultados no deben usarse para diagnosticar, tratar ni descartar enfermedades; un profesional sanitario cualificado debe revisar cada imagen.</translation>
    </message>
    <message>
        <source>No image selected</source>
        <translation>Ninguna imagen seleccionada</translation>
    </message>
    <message>
        <source>No result yet</source>
        <translation>Aún no hay resultados</translation>
    </message>
    <message>
        <source>Open images or a folder, or drop them on the window.</source>
        <translation>Abra imágenes o una carpeta, o arrástrelas a la ventana.</translation>
    </message>
    <message>
        <source>Not analysed</source>
        <translation>No analizada</translation>
    </message>
    <message>
        <source>The model only reads frontal chest X-rays.</source>
        <translation>El modelo solo interpreta radiografías de tórax frontales.</translation>
    </message>
    <message>
        <source>The file could not be opened as an image.</source>
        <translation>El archivo no se pudo abrir como imagen.</translation>
    </message>
    <message>
        <source>P(pneumonia) {p} · threshold {t}</source>
        <translation>P(neumonía) {p} · umbral {t}</translation>
    </message>
    <message>
        <source>Borderline — review carefully. The probability is within {margin} points of the threshold, so a small change in the image could change the verdict.</source>
        <translation>Caso límite — revíselo con atención. La probabilidad está a menos de {margin} puntos del umbral, por lo que un pequeño cambio en la imagen podría cambiar el veredicto.</translation>
    </message>
    <message>
        <source>Probability of {name}</source>
        <translation>Probabilidad de {name}</translation>
    </message>
    <message>
        <source>{w} × {h} pixels</source>
        <translation>{w} × {h} píxeles</translation>
    </message>
    <message>
        <source>read in {ms} ms</source>
        <translation>leída en {ms} ms</translation>
    </message>
    <message>
        <source>analysed in {ms} ms</source>
        <translation>analizada en {ms} ms</translation>
    </message>
    <message>
        <source>No model loaded</source>
        <translation>No hay ningún modelo cargado</translation>
    </message>
    <message>
        <source>{name} · version {version}</source>
        <translation>{name} · versión {version}</translation>
    </message>
    <message>
        <source>Threshold in use: {t} (set by you; the model&apos;s own is {d})</source>
        <translation>Umbral en uso: {t} (fijado por usted; el del modelo es {d})</translation>
    </message>
    <message>
        <source>Threshold in use: {t} (the model&apos;s own)</source>
        <translation>Umbral en uso: {t} (el del modelo)</translation>
    </message>
</context>
<context>
    <name>Results</name>
    <message>
        <source>Normal</source>
        <translation>Normal</translation>
    </message>
    <message>
        <source>Pneumonia</source>
        <translation>Neumonía</translation>
    </message>
    <message>
        <source>Bacterial pneumonia</source>
        <translation>Neumonía bacteriana</translation>
    </message>
    <message>
        <source>Viral pneumonia</source>
        <translation>Neumonía vírica</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>Correcto</translation>
    </message>
    <message>
        <source>Unsupported</source>
        <translation>No admitidos</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>Error</translation>
    </message>
    <message>
        <source>Not a chest X-ray: {reason}</source>
        <translation>No es una radiografía de tórax: {reason}</translation>
    </message>
    <message>
        <source>Cannot read file: {reason}</source>
        <translation>No se puede leer el archivo: {reason}</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Archivo</translation>
    </message>
    <message>
        <source>Verdict</source>
        <translation>Veredicto</translation>
    </message>
    <message>
        <source>P(pneumonia)</source>
        <translation>P(neumonía)</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Time (ms)</source>
        <translation>Tiempo (ms)</translation>
    </message>
    <message>
        <source>Image file name (hover a row for the full path)</source>
        <translation>Nombre del archivo de imagen (pase el ratón por una fila para ver la ruta completa)</translation>
    </message>
    <message>
        <source>The model&apos;s verdict at the current threshold</source>
        <translation>Veredicto del modelo con el umbral actual</translation>
    </message>
    <message>
        <source>The model&apos;s calibrated probability that the image is not normal</source>
        <translation>Probabilidad calibrada, según el modelo, de que la imagen no sea normal</translation>
    </message>
    <message>
        <source>Whether the file could be analysed</source>
        <translation>Si se pudo analizar el archivo</translation>
    </message>
    <message>
        <source>Time to read and analyse the file, in milliseconds</source>
        <translation>Tiempo para leer y analizar el archivo, en milisegundos</translation>
    </message>
    <message>
        <source>Borderline — review carefully</source>
        <translation>Caso límite — revíselo con atención</translation>
    </message>
    <message>
        <source>Not a chest X-ray</source>
        <translation>No es una radiografía de tórax</translation>
    </message>
    <message>
        <source>Cannot read file</source>
        <translation>No se puede leer el archivo</translation>
    </message>
</context>
<context>
    <name>RobustnessCanvas</name>
    <message>
        <source>No stress figures in this model file</source>
        <translation>Este archivo de modelo no tiene cifras de estrés</translation>
    </message>
    <message>
        <source>new model</source>
        <translation>modelo nuevo</translation>
    </message>
    <message>
        <source>active model</source>
        <translation>modelo activo</translation>
    </message>
    <message>
        <source>Specificity on changed healthy chests</source>
        <translation>Especificidad en tórax sanos modificados</translation>
    </message>
    <message>
        <source>Healthy chests under acquisition changes
(each model on its own validation split)</source>
        <translation>Tórax sanos con cambios de adquisición
(cada modelo en su propia partición de validación)</translation>
    </message>
</context>
<context>
    <name>RocCanvas</name>
    <message>
        <source>1 − specificity (false-positive rate)</source>
        <translation>1 − especificidad (tasa de falsos positivos)</translation>
    </message>
    <message>
        <source>Sensitivity</source>
        <translation>Sensibilidad</translation>
    </message>
    <message>
        <source>ROC curve</source>
        <translation>Curva ROC</translation>
    </message>
    <message>
        <source>slider threshold</source>
        <translation>umbral del control deslizante</translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <source>Training settings</source>
        <translation>Ajustes del entrenamiento</translation>
    </message>
    <message>
        <source>The defaults are the recipe of the shipped default model. A separate test folder gives the fairest evaluation; without one, the validation split is used.</source>
        <translation>Los valores predeterminados son la receta del modelo predeterminado incluido. Una carpeta de prueba independiente ofrece la evaluación más justa; sin ella, se usa la partición de validación.</translation>
    </message>
    <message>
        <source> images</source>
        <translation> imágenes</translation>
    </message>
    <message>
        <source>Random rotations, zoom, shifts, contrast and blur while training</source>
        <translation>Rotaciones, zoom, desplazamientos, contraste y desenfoque aleatorios durante el entrenamiento</translation>
    </message>
    <message>
        <source>Epochs:</source>
        <translation>Épocas:</translation>
    </message>
    <message>
        <source>Passes over the training images; the epoch with the lowest validation loss is kept.</source>
        <translation>Pasadas por las imágenes de entrenamiento; se conserva la época con la menor pérdida de validación.</translation>
    </message>
    <message>
        <source>Batch size:</source>
        <translation>Tamaño de lote:</translation>
    </message>
    <message>
        <source>Images per training step.</source>
        <translation>Imágenes por paso de entrenamiento.</translation>
    </message>
    <message>
        <source>Learning rate:</source>
        <translation>Tasa de aprendizaje:</translation>
    </message>
    <message>
        <source>Peak step size; it warms up, then decays smoothly.</source>
        <translation>Tamaño de paso máximo; aumenta al principio y luego disminuye de forma gradual.</translation>
    </message>
    <message>
        <source>Validation share:</source>
        <translation>Proporción de validación:</translation>
    </message>
    <message>
        <source>Set aside by patient to choose the epoch and the threshold.</source>
        <translation>Se reserva por paciente para elegir la época y el umbral.</translation>
    </message>
    <message>
        <source>Augmentation:</source>
        <translation>Aumento de datos:</translation>
    </message>
    <message>
        <source>Random seed:</source>
        <translation>Semilla aleatoria:</translation>
    </message>
    <message>
        <source>The same seed and data give the same model.</source>
        <translation>La misma semilla y los mismos datos dan el mismo modelo.</translation>
    </message>
    <message>
        <source>Optional: a labelled folder never used in training</source>
        <translation>Opcional: una carpeta etiquetada que nunca se use en el entrenamiento</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Examinar…</translation>
    </message>
    <message>
        <source>Separate test folder (optional)</source>
        <translation>Carpeta de prueba independiente (opcional)</translation>
    </message>
    <message>
        <source>Estimated training time</source>
        <translation>Tiempo de entrenamiento estimado</translation>
    </message>
    <message>
        <source>Training folder: {folder}
{parts} ({n} images)</source>
        <translation>Carpeta de entrenamiento: {folder}
{parts} ({n} imágenes)</translation>
    </message>
    <message>
        <source>About {t}</source>
        <translation>Unos {t}</translation>
    </message>
    <message>
        <source>An estimate, not a promise: about 0.01 s per image per epoch at 150 px on a 2-core CPU ({n} images × {e} at {s} px), plus reading each image once, training the check that refuses images that are not chest X-rays, and calibrating at the end. A faster computer takes less, a busy one more; images read before are not read again.</source>
        <translation>Una estimación, no una promesa: unos 0,01 s por imagen y época a 150 px en una CPU de 2 núcleos ({n} imágenes × {e} a {s} px), más la lectura de cada imagen una vez, el entrenamiento de la comprobación que rechaza las imágenes que no son radiografías de tórax y la calibración final. Un ordenador más rápido tarda menos y uno ocupado, más; las imágenes ya leídas no se vuelven a leer.</translation>
    </message>
    <message>
        <source>Choose the test folder</source>
        <translation>Elija la carpeta de prueba</translation>
    </message>
    <message>
        <source>No test folder: the new model is evaluated on the validation split, which also chose its threshold, so those numbers are slightly optimistic.</source>
        <translation>Sin carpeta de prueba: el modelo nuevo se evalúa con la partición de validación, con la que también se eligió su umbral, así que esas cifras son algo optimistas.</translation>
    </message>
    <message>
        <source>The new model and the active model will both be evaluated on this folder.</source>
        <translation>Tanto el modelo nuevo como el activo se evaluarán con esta carpeta.</translation>
    </message>
    <message>
        <source>Not a folder: {f}</source>
        <translation>No es una carpeta: {f}</translation>
    </message>
    <message>
        <source>The test folder must be separate from the training folder.</source>
        <translation>La carpeta de prueba debe ser distinta de la de entrenamiento.</translation>
    </message>
    <message>
        <source>The test folder needs one sub-folder per class, like the training folder.</source>
        <translation>La carpeta de prueba necesita una subcarpeta por clase, como la de entrenamiento.</translation>
    </message>
    <message>
        <source>The test folder has classes the training folder lacks: {c}</source>
        <translation>La carpeta de prueba tiene clases que faltan en la de entrenamiento: {c}</translation>
    </message>
</context>
<context>
    <name>StressLabels</name>
    <message>
        <source>Zoomed out: more around the chest</source>
        <translation>Alejada: más espacio alrededor del tórax</translation>
    </message>
    <message>
        <source>Zoomed out</source>
        <translation>Alejada</translation>
    </message>
    <message>
        <source>Zoomed in: tighter framing</source>
        <translation>Ampliada: encuadre más ceñido</translation>
    </message>
    <message>
        <source>Zoomed in</source>
        <translation>Ampliada</translation>
    </message>
    <message>
        <source>Veil of haze, moderate (lower local contrast)</source>
        <translation>Velo de neblina, moderado (menos contraste local)</translation>
    </message>
    <message>
        <source>Haze, moderate</source>
        <translation>Neblina moderada</translation>
    </message>
    <message>
        <source>Veil of haze, strong</source>
        <translation>Velo de neblina, intenso</translation>
    </message>
    <message>
        <source>Haze, strong</source>
        <translation>Neblina intensa</translation>
    </message>
    <message>
        <source>Three times lower resolution</source>
        <translation>Resolución tres veces menor</translation>
    </message>
    <message>
        <source>Lower resolution</source>
        <translation>Menor resolución</translation>
    </message>
    <message>
        <source>Detector noise</source>
        <translation>Ruido del detector</translation>
    </message>
    <message>
        <source>Noise</source>
        <translation>Ruido</translation>
    </message>
    <message>
        <source>Darker mid-tones</source>
        <translation>Tonos medios más oscuros</translation>
    </message>
    <message>
        <source>Darker</source>
        <translation>Más oscura</translation>
    </message>
    <message>
        <source>Brighter mid-tones</source>
        <translation>Tonos medios más claros</translation>
    </message>
    <message>
        <source>Brighter</source>
        <translation>Más clara</translation>
    </message>
    <message>
        <source>Rotated by 10°</source>
        <translation>Girada 10°</translation>
    </message>
    <message>
        <source>Rotated</source>
        <translation>Girada</translation>
    </message>
</context>
<context>
    <name>ThresholdDialog</name>
    <message>
        <source>Set threshold</source>
        <translation>Fijar el umbral</translation>
    </message>
    <message>
        <source>An image is called abnormal when the model&apos;s probability of pneumonia is at or above the threshold. A lower threshold misses fewer cases (higher sensitivity) but raises more false alarms; a higher one does the opposite. The model&apos;s own threshold is {d}, chosen on its validation data. Your choice is remembered for this model only.</source>
        <translation>Una imagen se considera anómala cuando la probabilidad de neumonía según el modelo es igual o superior al umbral. Un umbral más bajo pasa por alto menos casos (mayor sensibilidad) pero genera más falsas alarmas; uno más alto hace lo contrario. El umbral propio del modelo es {d}, elegido con sus datos de validación. Su elección se recuerda solo para este modelo.</translation>
    </message>
    <message>
        <source>Restore model&apos;s threshold</source>
        <translation>Restablecer el umbral del modelo</translation>
    </message>
</context>
<context>
    <name>TrainingCurvesCanvas</name>
    <message>
        <source>Loss</source>
        <translation>Pérdida</translation>
    </message>
    <message>
        <source>Accuracy</source>
        <translation>Exactitud</translation>
    </message>
    <message>
        <source>Epoch</source>
        <translation>Época</translation>
    </message>
    <message>
        <source>training</source>
        <translation>entrenamiento</translation>
    </message>
    <message>
        <source>validation</source>
        <translation>validación</translation>
    </message>
    <message>
        <source>best epoch</source>
        <translation>mejor época</translation>
    </message>
</context>
<context>
    <name>TrainingPage</name>
    <message>
        <source>Training</source>
        <translation>Entrenamiento</translation>
    </message>
    <message>
        <source>Training runs in the background. Stopping it, or closing this window, leaves every saved model exactly as it was.</source>
        <translation>El entrenamiento se ejecuta en segundo plano. Si lo detiene o cierra esta ventana, todos los modelos guardados quedan exactamente como estaban.</translation>
    </message>
    <message>
        <source>Stop training</source>
        <translation>Detener el entrenamiento</translation>
    </message>
    <message>
        <source>Train again</source>
        <translation>Volver a entrenar</translation>
    </message>
    <message>
        <source>One line per epoch appears here.</source>
        <translation>Aquí aparece una línea por época.</translation>
    </message>
    <message>
        <source>Preparing the images…</source>
        <translation>Preparando las imágenes…</translation>
    </message>
    <message>
        <source>Training stopped.</source>
        <translation>Entrenamiento detenido.</translation>
    </message>
    <message>
        <source>Training was stopped. Nothing was saved and every existing model is unchanged.</source>
        <translation>Se detuvo el entrenamiento. No se guardó nada y todos los modelos existentes siguen sin cambios.</translation>
    </message>
    <message>
        <source>Elapsed: {t}</source>
        <translation>Transcurrido: {t}</translation>
    </message>
    <message>
        <source>estimating…</source>
        <translation>estimando…</translation>
    </message>
    <message>
        <source>Remaining: {t}</source>
        <translation>Restante: {t}</translation>
    </message>
    <message>
        <source>Training on {n} images ({train}); validating on {m} ({val}). No patient appears on both sides. Images read in {t}.</source>
        <translation>Entrenando con {n} imágenes ({train}); validando con {m} ({val}). Ningún paciente aparece en ambos lados. Imágenes leídas en {t}.</translation>
    </message>
    <message>
        <source>{n} files could not be read and are left out: {names}</source>
        <translation>No se pudieron leer {n} archivos, que quedan excluidos: {names}</translation>
    </message>
    <message>
        <source>Training…</source>
        <translation>Entrenando…</translation>
    </message>
    <message>
        <source>member {i}, </source>
        <translation>miembro {i}, </translation>
    </message>
    <message>
        <source>Epoch {e} of {n}</source>
        <translation>Época {e} de {n}</translation>
    </message>
    <message>
        <source>{member}batch {b}/{nb} · loss {loss:.3f}</source>
        <translation>{member}lote {b}/{nb} · pérdida {loss:.3f}</translation>
    </message>
    <message>
        <source>epoch {e:&gt;3}/{n}  train loss {tl:.3f} acc {ta:5.1%}  |  val loss {vl:.3f} acc {va:5.1%} AUC {auc}{best}</source>
        <translation>época {e:&gt;3}/{n}  pérdida ent. {tl:.3f} exact. {ta:5.1%}  |  pérdida val. {vl:.3f} exact. {va:5.1%} AUC {auc}{best}</translation>
    </message>
    <message>
        <source>  ← best so far</source>
        <translation>  ← la mejor hasta ahora</translation>
    </message>
    <message>
        <source>Reading and preparing the images…</source>
        <translation>Leyendo y preparando las imágenes…</translation>
    </message>
    <message>
        <source>Reading and preparing the images… {done} of {total}</source>
        <translation>Leyendo y preparando las imágenes… {done} de {total}</translation>
    </message>
    <message>
        <source>Calibrating on the validation split…</source>
        <translation>Calibrando con la partición de validación…</translation>
    </message>
    <message>
        <source>Fitting the unfamiliar-image check…</source>
        <translation>Ajustando la detección de imágenes desconocidas…</translation>
    </message>
    <message>
        <source>Training the check that refuses images that are not chest X-rays…</source>
        <translation>Entrenando la comprobación que rechaza las imágenes que no son radiografías de tórax…</translation>
    </message>
    <message>
        <source>Checking it on the validation split…</source>
        <translation>Comprobándola en la partición de validación…</translation>
    </message>
    <message>
        <source>Stress-testing on the validation split: {change}…</source>
        <translation>Prueba de estrés en la partición de validación: {change}…</translation>
    </message>
    <message>
        <source>Training the check that refuses images that are not chest X-rays: epoch {e} of {n}…</source>
        <translation>Entrenando la comprobación que rechaza las imágenes que no son radiografías de tórax: época {e} de {n}…</translation>
    </message>
    <message>
        <source>training ended without a model</source>
        <translation>el entrenamiento terminó sin producir un modelo</translation>
    </message>
    <message>
        <source>Finished in {t}.</source>
        <translation>Terminado en {t}.</translation>
    </message>
    <message>
        <source>Remaining: done</source>
        <translation>Restante: terminado</translation>
    </message>
    <message>
        <source>The model from epoch {best} (lowest validation loss) is kept. On the validation split: accuracy {acc}, sensitivity {sens}, specificity {spec}, AUC {auc}. Operating threshold {thr:.3f}, the highest that keeps validation sensitivity at or above {target:.0%}. Press Next to evaluate it; nothing is saved yet.</source>
        <translation>Se conserva el modelo de la época {best} (menor pérdida de validación). En la partición de validación: exactitud {acc}, sensibilidad {sens}, especificidad {spec}, AUC {auc}. Umbral de funcionamiento {thr:.3f}, el más alto que mantiene la sensibilidad de validación igual o superior al {target:.0%}. Pulse Siguiente para evaluarlo; todavía no se ha guardado nada.</translation>
    </message>
    <message>
        <source>Training failed.</source>
        <translation>El entrenamiento ha fallado.</translation>
    </message>
    <message>
        <source>Training could not be completed: {msg}
No model was saved; existing models are unchanged.</source>
        <translation>No se pudo completar el entrenamiento: {msg}
No se guardó ningún modelo; los modelos existentes no han cambiado.</translation>
    </message>
</context>
<context>
    <name>TrainingWizard</name>
    <message>
        <source>Train a new model</source>
        <translation>Entrenar un modelo nuevo</translation>
    </message>
    <message>
        <source>Discard the new model?</source>
        <translation>¿Descartar el modelo nuevo?</translation>
    </message>
    <message>
        <source>The new model has not been saved. Close the wizard and discard it?</source>
        <translation>El modelo nuevo no se ha guardado. ¿Cerrar el asistente y descartarlo?</translation>
    </message>
    <message>
        <source>n/a</source>
        <translation>n/d</translation>
    </message>
    <message>
        <source>{n} epoch</source>
        <translation>{n} época</translation>
    </message>
    <message>
        <source>{n} epochs</source>
        <translation>{n} épocas</translation>
    </message>
</context>
<context>
    <name>ViewController</name>
    <message>
        <source>Loading {name}…</source>
        <translation>Cargando {name}…</translation>
    </message>
    <message>
        <source>Cannot display this file.</source>
        <translation>No se puede mostrar este archivo.</translation>
    </message>
    <message>
        <source>No heatmap: the model did not analyse this file.</source>
        <translation>Sin mapa de calor: el modelo no analizó este archivo.</translation>
    </message>
    <message>
        <source>Computing heatmap…</source>
        <translation>Calculando el mapa de calor…</translation>
    </message>
    <message>
        <source>Press G or the Heatmap button to show the overlay.</source>
        <translation>Pulse G o el botón Mapa de calor para mostrar la superposición.</translation>
    </message>
    <message>
        <source>Warm colours mark the regions that weighed most in the verdict. They show where the model looked, not where disease is.</source>
        <translation>Los colores cálidos señalan las regiones que más pesaron en el veredicto. Muestran dónde se fijó el modelo, no dónde está la enfermedad.</translation>
    </message>
</context>
</TS>
