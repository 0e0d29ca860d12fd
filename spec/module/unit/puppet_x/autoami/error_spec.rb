# frozen_string_literal: true

require_relative '../../spec_helper'
require 'puppet_x/autoami/error'

describe PuppetX::Autoami::Error do
  it 'carries the message, the JSON-RPC code and the field the sidecar blamed' do
    error = described_class.new('name: already exists', -32_001, 'name')
    expect([error.message, error.code, error.field]).to eq(['name: already exists', -32_001, 'name'])
  end

  it 'needs only a message' do
    error = described_class.new('the autoami sidecar closed the connection')
    expect([error.code, error.field]).to eq([nil, nil])
  end

  it 'is a StandardError, so a bare rescue catches it' do
    expect(described_class.ancestors).to include(StandardError)
  end
end
