// ollama-js (the official JavaScript client) against a running mock: node ollama_js.mjs URL [TOKEN]
// Prints one line per step and exits 1 at the first step that does not behave like real Ollama.
import { Ollama } from 'ollama'

const [url, token] = process.argv.slice(2)
const client = new Ollama({ host: url, headers: token ? { Authorization: `Bearer ${token}` } : {} })
const model = 'smollm2:360m'

function expect(step, condition, detail) {
  console.log(`${condition ? 'ok  ' : 'FAIL'} ${step}: ${detail}`)
  if (!condition) process.exit(1)
}

const names = async () => (await client.ps()).models.map((entry) => entry.name)

const before = await client.ps()
expect('ps', Array.isArray(before.models) && before.models.every((m) => typeof m.expires_at === 'string'),
  JSON.stringify(before.models.map((m) => [m.name, m.size_vram, m.context_length])))
expect('version', /^\d+\.\d+\.\d+/.test((await client.version()).version), 'a release version')
expect('list', (await client.list()).models.some((m) => m.name === model), `${model} installed`)

const loaded = await client.generate({ model, prompt: '', keep_alive: '1m' })
expect('load', loaded.done === true && loaded.done_reason === 'load', JSON.stringify(loaded))
expect('ps after load', (await names()).includes(model), (await names()).join(', '))

let text = ''
for await (const part of await client.generate({ model, prompt: 'Why is the sky blue?', stream: true })) {
  text += part.response
}
expect('streamed generate', text.length > 0, JSON.stringify(text))
const chat = await client.chat({ model, messages: [{ role: 'user', content: 'hi' }] })
expect('chat', chat.message.role === 'assistant' && chat.message.content.length > 0, JSON.stringify(chat.message))

const unloaded = await client.generate({ model, prompt: '', keep_alive: 0 })
expect('unload', unloaded.done_reason === 'unload', JSON.stringify(unloaded))
expect('ps after unload', !(await names()).includes(model), (await names()).join(', '))

try {
  await client.generate({ model: 'no-such-model:1b', prompt: '' })
  expect('unknown model', false, 'no error raised')
} catch (error) {
  expect('unknown model', error.name === 'ResponseError' && error.status_code === 404, `${error.name} ${error.status_code} ${error.message}`)
}

// The rest of an app's routes: show, embed, pull with progress, copy, create, delete, tools, thinking.
const shown = await client.show({ model: 'llama3.2' })
expect('show', shown.model_info['general.architecture'] === 'llama' && shown.capabilities.includes('tools'),
  JSON.stringify(shown.capabilities))
const embedded = await client.embed({ model: 'nomic-embed-text', input: ['a', 'b'] })
expect('embed', embedded.embeddings.length === 2 && embedded.embeddings[0].length === 768,
  `${embedded.embeddings.length} vectors`)
expect('ps after embed', (await names()).includes('nomic-embed-text:latest'), (await names()).join(', '))
const legacy = await client.embeddings({ model: 'nomic-embed-text', prompt: 'a' })
expect('embeddings', legacy.embedding.length === 768, `${legacy.embedding.length} values`)

const statuses = []
for await (const part of await client.pull({ model: 'gemma3:1b', stream: true })) statuses.push(part.status)
expect('streamed pull', statuses[0] === 'pulling manifest' && statuses.at(-1) === 'success', statuses.join(' | '))
expect('list after pull', (await client.list()).models[0].name === 'gemma3:1b', 'the newest model')
expect('copy', (await client.copy({ source: 'gemma3:1b', destination: 'gemma-copy' })).status === 'success', 'copied')
const created = await client.create({ model: 'pirate', from: 'llama3.2', system: 'You are a pirate.' })
expect('create', created.status === 'success', JSON.stringify(created))
expect('show created', (await client.show({ model: 'pirate' })).system === 'You are a pirate.', 'system prompt kept')
expect('delete', (await client.delete({ model: 'gemma-copy' })).status === 'success', 'deleted')
expect('list after delete', !(await client.list()).models.some((m) => m.name === 'gemma-copy:latest'), 'gone')

const tool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }
const called = await client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'Weather in Oslo?' }], tools: [tool] })
expect('tool calls', called.message.tool_calls?.[0]?.function.name === 'get_weather' &&
  typeof called.message.tool_calls[0].function.arguments.city === 'string', JSON.stringify(called.message.tool_calls))
const thought = await client.chat({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'why?' }] })
expect('thinking', thought.message.thinking.length > 0, JSON.stringify(thought.message.thinking))
