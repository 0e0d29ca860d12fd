# frozen_string_literal: true

require_relative '../../spec_helper'
require 'puppet_x/autoami/config'

describe PuppetX::Autoami::Config do
  describe '.path' do
    it 'is $AUTOAMI_CONFIG when set' do
      ENV['AUTOAMI_CONFIG'] = '/srv/autoami/autoami.yaml'
      expect(described_class.path).to eq('/srv/autoami/autoami.yaml')
    end

    it "is autoami.yaml beside puppet.conf otherwise" do
      ENV.delete('AUTOAMI_CONFIG')
      expect(described_class.path).to eq(File.join(Puppet[:confdir], 'autoami.yaml'))
    end
  end

  describe '.load' do
    it 'returns the mapping' do
      write_config('socket' => '/tmp/x.sock', 'aws' => { 'region' => 'eu-west-1' })
      expect(described_class.load).to eq('socket' => '/tmp/x.sock', 'aws' => { 'region' => 'eu-west-1' })
    end

    it 'names the file and how to get one when there is none' do
      missing = File.join(@dir, 'missing.yaml')
      expect { described_class.load(missing) }.to raise_error(PuppetX::Autoami::Error, /no AutoAMI config at #{Regexp.escape(missing)}: declare class autoami/)
    end

    it 'says permission denied rather than Errno::EACCES' do
      write_config({})
      allow(File).to receive(:read).and_call_original
      allow(File).to receive(:read).with(ENV['AUTOAMI_CONFIG']).and_raise(Errno::EACCES)
      expect { described_class.load }.to raise_error(PuppetX::Autoami::Error, /cannot read the AutoAMI config .*: permission denied/)
    end

    it 'refuses a file that is not a mapping' do
      write_config("- a\n- b\n")
      expect { described_class.load }.to raise_error(PuppetX::Autoami::Error, /must hold a mapping/)
    end

    it 'refuses an empty file' do
      write_config('')
      expect { described_class.load }.to raise_error(PuppetX::Autoami::Error, /must hold a mapping/)
    end

    it 'refuses broken YAML with the parser’s reason' do
      write_config("socket: [unclosed\n")
      expect { described_class.load }.to raise_error(PuppetX::Autoami::Error, /is not valid YAML: .+/)
    end

    it 'builds no Ruby objects from the file' do
      write_config("--- !ruby/object:Object {}\n")
      expect { described_class.load }.to raise_error(PuppetX::Autoami::Error, /is not valid YAML/)
    end
  end

  it 'defaults the socket and the state directory as the sidecar does' do
    sidecar = File.read(File.expand_path('../../../../../runtime/config.ts', __dir__))
    expect(sidecar).to include("'socket') ?? '#{described_class::DEFAULT_SOCKET}'")
    expect(sidecar).to include("'state_dir') ?? '#{described_class::DEFAULT_STATE_DIR}'")
    expect(described_class.socket_path({})).to eq(described_class::DEFAULT_SOCKET)
    expect(described_class.state_dir({})).to eq(described_class::DEFAULT_STATE_DIR)
    expect(described_class.socket_path('socket' => '/run/x.sock')).to eq('/run/x.sock')
    expect(described_class.state_dir('state_dir' => '/srv/autoami')).to eq('/srv/autoami')
  end
end
