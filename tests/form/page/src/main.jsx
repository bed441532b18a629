// The config form as an export UI renders it: react-jsonschema-form over `braze-export spec`, with the hints of
// `braze-export spec --ui` applied the way docs/config.md ("The form") asks a renderer to apply them:
//   - ui:groups: the root's properties in titled groups; a collapsed group is one click away; "*" takes every
//     property no group names (a key added to the schema without hints lands there);
//   - a property that an if/then branch of its object brings in (then.properties) is shown only while one of its
//     branches holds, and its value is dropped when none does (a left-over value could be refused);
//   - a writeOnly (secret) property is a password field; defaults are shown, but only what differs is written.
import { useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import Form, { getDefaultRegistry } from '@rjsf/core';
import { customizeValidator } from '@rjsf/validator-ajv8';
import Ajv2020 from 'ajv/dist/2020';
import { ADDITIONAL_PROPERTY_FLAG, buttonId, getUiOptions } from '@rjsf/utils';

const validator = customizeValidator({ AjvClass: Ajv2020 });
const defaults = getDefaultRegistry().templates;
const MAX_SETTLE_PASSES = 8;
// Options carry their values (not their indexes), so that the page's DOM says what is chosen.
const VALUES = { 'ui:optionValueFormat': 'realValue' };

const isObjectSchema = (s) => s && typeof s === 'object' && s.properties && typeof s.properties === 'object';
const isMapping = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// The if/then branches of an object schema (its own and those of its allOf), each with the fields it brings in.
function branches(schema) {
  return [schema, ...(schema.allOf || [])]
    .filter((b) => b && b.if && b.then && isObjectSchema(b.then))
    .map((b) => ({ when: b.if, fields: Object.keys(b.then.properties) }));
}

// The fields of an object schema that some branch brings in and no branch that holds for `data` does.
function hiddenFields(schema, data, root) {
  const list = branches(schema);
  const shown = new Set(
    list.filter((b) => validator.isValid(b.when, isMapping(data) ? data : {}, root)).flatMap((b) => b.fields),
  );
  return [...new Set(list.flatMap((b) => b.fields))].filter((f) => !shown.has(f));
}

// Data without the values of hidden fields, recursively, until nothing more is hidden.
function settle(schema, data, root = schema) {
  let current = data;
  for (let pass = 0; pass < MAX_SETTLE_PASSES; pass += 1) {
    const next = prune(schema, current, root);
    if (JSON.stringify(next) === JSON.stringify(current)) return next;
    current = next;
  }
  return current;
}

function prune(schema, data, root) {
  if (!isMapping(data)) return data;
  const hidden = new Set(hiddenFields(schema, data, root));
  const out = {};
  for (const [key, value] of Object.entries(data)) {
    if (hidden.has(key) || value === undefined) continue;
    const prop = schema.properties?.[key];
    out[key] = isObjectSchema(prop) ? prune(prop, value, root) : value;
  }
  return out;
}

// The config to write: no hidden field, no value equal to its default, no empty mapping the form made.
function toConfig(schema, data) {
  const out = {};
  for (const [key, raw] of Object.entries(settle(schema, data))) {
    const prop = schema.properties?.[key] || {};
    const value = isObjectSchema(prop) && isMapping(raw) ? toConfig(prop, raw) : raw;
    if ('default' in prop && JSON.stringify(prop.default) === JSON.stringify(value)) continue;
    if (isMapping(value) && Object.keys(value).length === 0) continue;
    out[key] = value;
  }
  return out;
}

// Whether an error's property (".notify.url", ".notify") lies in an optional top-level object with nothing set.
function leftEmpty(schema, data, property) {
  const top = (property || '').replace(/^\./, '').split(/[.[]/)[0];
  const prop = schema.properties?.[top];
  if (!isObjectSchema(prop) || (schema.required || []).includes(top)) return false;
  const value = isMapping(data) ? data[top] : undefined;
  return value === undefined || (isMapping(value) && Object.keys(toConfig(prop, value)).length === 0);
}

// The uiSchema for the data as it stands: the hints, plus the branch fields hidden now and secrets as passwords.
function uiFor(schema, hints, data, root = schema) {
  const ui = { ...hints };
  for (const [name, prop] of Object.entries(schema.properties || {})) {
    let field = { ...VALUES, ...(hints[name] || {}) };
    if (Array.isArray(prop.anyOf)) field.anyOf = prop.anyOf.map((_, i) => ({ ...VALUES, ...(field.anyOf?.[i] || {}) }));
    if (prop.writeOnly && !field['ui:widget']) field['ui:widget'] = 'password';
    if (isObjectSchema(prop)) field = uiFor(prop, field, isMapping(data) ? data[name] : undefined, root);
    ui[name] = field;
  }
  for (const name of hiddenFields(schema, data, root)) ui[name] = { ...ui[name], 'ui:widget': 'hidden' };
  return ui;
}

// Groups of an object's properties (ui:groups); without groups, RJSF's own template.
function GroupedObjectFieldTemplate(props) {
  const { groups } = getUiOptions(props.uiSchema);
  if (!Array.isArray(groups)) return <defaults.ObjectFieldTemplate {...props} />;
  const path = props.fieldPathId.path;
  const byName = new Map(props.properties.map((p) => [p.name, p]));
  const named = new Set(groups.flatMap((g) => g.fields));
  const rest = props.properties.map((p) => p.name).filter((n) => !named.has(n));
  const errors = props.errorSchema || {};
  return (
    <div className="object" id={props.fieldPathId.$id}>
      {props.title && path.length > 0 && <h3 className="object-title">{props.title}</h3>}
      {props.description && path.length > 0 && <p className="field-description">{props.description}</p>}
      {groups.map((group) => {
        const names = group.fields.flatMap((f) => (f === '*' ? rest : [f]));
        const shown = names.map((n) => byName.get(n)).filter((p) => p && !p.hidden);
        if (shown.length === 0) return null;
        const body = shown.map((p) => (
          <div className="prop" key={p.name} data-field={[...path, p.name].join('.')}>{p.content}</div>
        ));
        const hint = group.description && <p className="group-description">{group.description}</p>;
        if (!group.collapsed) {
          return (
            <section className="group" key={group.id} data-group={[...path, group.id].join('.')}>
              {group.title && <h2 className="group-title">{group.title}</h2>}
              {hint}
              {body}
            </section>
          );
        }
        const failing = shown.some((p) => errors[p.name]);
        return (
          <details className="group" key={group.id} data-group={[...path, group.id].join('.')} open={failing || undefined}>
            <summary className="group-title">{group.title}</summary>
            {hint}
            {body}
          </details>
        );
      })}
    </div>
  );
}

// A mapping's entry (such as input.columns): the key with its own label and placeholder (ui:keyLabel,
// ui:keyPlaceholder), its value, and a remove button. A new entry's key starts empty instead of "newKey".
const FRESH_KEY = /^newKey(-\d+)?$/;

function WrapIfAdditionalTemplate(props) {
  const { id, classNames, style, label, onKeyRenameBlur, onRemoveProperty, schema, children, uiSchema, registry } = props;
  if (!(ADDITIONAL_PROPERTY_FLAG in schema)) {
    return <div className={`form-group ${classNames || ''}`} style={style}>{children}</div>;
  }
  const { keyLabel = 'Name', keyPlaceholder, valueLabel } = getUiOptions(uiSchema);
  const { RemoveButton } = registry.templates.ButtonTemplates;
  const rename = (event) => { if (event.target.value.trim()) onKeyRenameBlur(event); };
  return (
    <div className={`form-group additional ${classNames || ''}`} style={style}>
      <div className="additional-key">
        <label htmlFor={`${id}-key`}>{keyLabel}</label>
        <input key={label} type="text" id={`${id}-key`} defaultValue={FRESH_KEY.test(label) ? '' : label}
          placeholder={keyPlaceholder} onBlur={rename} />
      </div>
      <div className="additional-value">
        {valueLabel && <label htmlFor={id}>{valueLabel}</label>}
        {children}
      </div>
      <RemoveButton id={buttonId(id, 'remove')} className="rjsf-object-property-remove"
        disabled={props.disabled || props.readonly} onClick={onRemoveProperty} uiSchema={uiSchema} registry={registry} />
    </div>
  );
}

// Buttons that say what they do, instead of icons.
const textButton = (text) => function TextButton({ icon, iconType, uiSchema, registry, className, ...rest }) {
  return <button type="button" className={`btn-text ${className || ''}`} {...rest}>{text}</button>;
};
const BUTTONS = {
  RemoveButton: textButton('Remove'), MoveUpButton: textButton('Up'), MoveDownButton: textButton('Down'),
  CopyButton: textButton('Copy'),
};

// An add button that says what it adds (ui:addText), instead of a bare "+".
function AddButton({ id, className, onClick, disabled, uiSchema }) {
  const { addText } = getUiOptions(uiSchema);
  return (
    <button type="button" id={id} className={`btn-add ${className || ''}`} onClick={onClick} disabled={disabled}>
      {addText || 'Add'}
    </button>
  );
}

// The schema as react-jsonschema-form gets it: a choice (anyOf) keeps no default, since RJSF would write it back
// over the user's switch to another choice; the first choice shows it instead (the schema lists it first).
function forRjsf(schema) {
  if (!isObjectSchema(schema)) return schema;
  const properties = {};
  for (const [name, prop] of Object.entries(schema.properties)) {
    const { default: _unused, ...rest } = prop;
    properties[name] = Array.isArray(prop.anyOf) ? rest : forRjsf(prop);
  }
  return { ...schema, properties };
}

function App({ schema, hints }) {
  const [formData, setFormData] = useState({});
  const rendered = useMemo(() => forRjsf(schema), [schema]);
  const uiSchema = useMemo(() => uiFor(schema, hints, formData), [schema, hints, formData]);
  useEffect(() => { document.body.dataset.ready = 'true'; }, []);
  const submit = ({ formData: data }) => {
    const config = toConfig(schema, data);
    window.submittedConfig = config;
    document.getElementById('submitted').textContent = JSON.stringify(config, null, 2);
  };
  return (
    <Form
      schema={rendered}
      uiSchema={uiSchema}
      formData={formData}
      validator={validator}
      templates={{
        ObjectFieldTemplate: GroupedObjectFieldTemplate, WrapIfAdditionalTemplate,
        ButtonTemplates: { ...defaults.ButtonTemplates, ...BUTTONS, AddButton },
      }}
      onChange={({ formData: data }) => setFormData(settle(schema, data))}
      onSubmit={submit}
      onError={(errors) => { window.submittedConfig = null; window.formErrors = errors.map((e) => e.stack); }}
      showErrorList="top"
      // An optional object (notify) the user left empty is not part of the config (toConfig drops it),
      // so the fields it would require are not asked for.
      transformErrors={(errors) => errors.filter((e) => !leftEmpty(schema, formData, e.property))}
      noHtml5Validate
    />
  );
}

async function main() {
  const params = new URLSearchParams(window.location.search);
  const load = async (name) => (await fetch(name)).json();
  const [schema, hints] = await Promise.all([load(params.get('schema') || 'schema.json'), load(params.get('ui') || 'ui.json')]);
  createRoot(document.getElementById('form')).render(<App schema={schema} hints={hints} />);
}

main();
