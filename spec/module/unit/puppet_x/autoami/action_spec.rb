# frozen_string_literal: true

require_relative '../../spec_helper'
require 'puppet_x/autoami/action'

describe PuppetX::Autoami::Action do
  spec = {
    'face' => 'autoami',
    'action' => 'run',
    'method' => 'bake.run',
    'positional' => ['name'],
    'options' => [
      { 'field' => 'keep', 'flag' => '--keep', 'type' => 'integer' },
      { 'field' => 'groups', 'flag' => '--groups', 'type' => 'string[]' },
      { 'field' => 'wait', 'flag' => '--wait', 'type' => 'boolean' },
      { 'field' => 'image', 'flag' => '--image', 'type' => 'string' },
    ],
    'settings' => [{ 'field' => 'server', 'setting' => 'server' }],
    'render' => { 'kind' => 'table', 'rowsKey' => 'bakes', 'failKey' => 'failed', 'empty' => 'nothing to bake', 'columns' => [{ 'key' => 'group', 'heading' => 'GROUP' }] },
  }.freeze
  let(:action) { described_class.new(spec) }

  before do
    PuppetX::Autoami.command_line = nil
    PuppetX::Autoami.failed = nil
  end

  after do
    PuppetX::Autoami.command_line = nil
    PuppetX::Autoami.failed = nil
  end

  describe '#params' do
    it 'takes positionals in order, only the options given, and settings from Puppet' do
      expect(action.params(['web'], { image: 'ami-1', wait: true })).to eq('name' => 'web', 'image' => 'ami-1', 'wait' => true, 'server' => Puppet[:server])
    end

    it 'turns a clean integer and a comma list into JSON numbers and arrays' do
      expect(action.params(['web'], { keep: '3', groups: 'a, b,' })).to include('keep' => 3, 'groups' => ['a', 'b', ''])
    end

    it 'leaves a value that is not a clean integer for the sidecar to refuse' do
      expect(action.params(['web'], { keep: '3x' })).to include('keep' => '3x')
      expect(action.params(['web'], { keep: '0x10' })).to include('keep' => '0x10')
    end

    it 'refuses bytes that are not UTF-8, naming the field' do
      expect { action.params(["w\xFFb".b], {}) }.to raise_error(PuppetX::Autoami::Error) { |e|
        expect([e.message, e.code, e.field]).to eq(['name: is not valid UTF-8 text', -32_602, 'name'])
      }
    end
  end

  describe '#invoke' do
    it 'calls the method with the params, printing progress, and returns the result' do
      answer = lambda do |request|
        next unless request['method'] == 'bake.run'

        [{ 'jsonrpc' => '2.0', 'method' => 'progress', 'params' => { 'line' => 'baking web' } }, reply(request, 'bakes' => [], 'failed' => false)]
      end
      with_sidecar(answer) do |sidecar|
        expect { expect(action.invoke(['web'], { keep: '2' })).to eq('bakes' => [], 'failed' => false) }.to output("baking web\n").to_stdout
        call = sidecar.received.last
        expect(call['params']).to include('name' => 'web', 'keep' => 2)
      end
      expect(PuppetX::Autoami.failed).to be_falsy
    end

    it 'marks the command failed when the result says so' do
      with_sidecar(->(request) { reply(request, 'bakes' => [], 'failed' => true) if request['method'] == 'bake.run' }) do
        action.invoke(['web'], {})
      end
      expect(PuppetX::Autoami.failed).to be(true)
    end

    it 'raises to Ruby callers' do
      write_config('socket' => File.join(@dir, 'nobody.sock'))
      expect { action.invoke(['web'], {}) }.to raise_error(PuppetX::Autoami::Error, /cannot reach the autoami sidecar/)
    end

    it 'ends a command with one line and exit status 1' do
      PuppetX::Autoami.command_line = true
      write_config('socket' => File.join(@dir, 'nobody.sock'))
      expect(Puppet).to receive(:err).with(/cannot reach the autoami sidecar/)
      expect { action.invoke(['web'], {}) }.to raise_error(SystemExit) { |e| expect(e.status).to eq(1) }
    end

    it 'refuses a value that is not UTF-8 before connecting' do
      write_config('socket' => File.join(@dir, 'nobody.sock'))
      expect { action.invoke(["\xFF".b], {}) }.to raise_error(PuppetX::Autoami::Error, /name: is not valid UTF-8/)
    end
  end

  describe '#render' do
    it 'draws a table from the rows under rowsKey' do
      expect(action.render('bakes' => [{ 'group' => 'web' }])).to eq("GROUP\nweb")
      expect(action.render('bakes' => [])).to eq('nothing to bake')
    end

    it 'fills a message' do
      message = described_class.new(spec.merge('render' => { 'kind' => 'message', 'format' => 'Deleted group %{name}' }))
      expect(message.render('name' => 'web')).to eq('Deleted group web')
    end

    it 'lists a record' do
      record = described_class.new(spec.merge('render' => { 'kind' => 'record' }))
      expect(record.render('protocol' => 1, 'version' => '0.1.0')).to eq("protocol  1\nversion   0.1.0")
    end
  end
end

describe PuppetX::Autoami do
  describe '.repeatable_lists' do
    # Stands for a face application: options in a hash, a handler per option that keeps the last value.
    let(:application) do
      Class.new do
        attr_reader :options

        def initialize
          @options = {}
        end

        def handle_kms_key(value)
          @options[:kms_key] = value
        end

        def handle_image(value)
          @options[:image] = value
        end
      end
    end

    it 'makes a repeated list option add to the list, and leaves other options as they were' do
      described_class.repeatable_lists(application, %i[kms_key])
      app = application.new
      %w[a b,c].each { |value| app.handle_kms_key(value) }
      %w[ami-1 ami-2].each { |value| app.handle_image(value) }
      expect(app.options).to eq(kms_key: 'a,b,c', image: 'ami-2')
    end
  end
end
